"""Sales Tracking dashboard and the report pages (HTML, and each report's streaming CSV).

Every report page is one view, ``report_page``, given its spec (reports/specs.py) by its URL.
"""

from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import render

from config.db_router import reads_from_replica
from offers.models import Member, NetworkConnection, Offer, Project
from reports import raw_selectors, selectors
from reports.filters import PRESETS, STATUS_CHOICES, ReportFilterForm
from reports.models import RollupWatermark
from reports.specs import Chart, Query, Report
from tracking.selectors import pruned_before
from workspaces.csv_export import stream_csv
from workspaces.decorators import workspace_view

PAGE_ROWS = 200
# Above this many members the member filter is a code field instead of a list.
MEMBER_SELECT_LIMIT = 300

DAILY_CHART = Chart(
    points=lambda q, days: days, x="day", series=(("Clicks", "clicks"), ("Conversions", "conversions", "y1"))
)
CARDS = [
    ("clicks", "Clicks", "int"),
    ("unique_clicks", "Unique clicks", "int"),
    ("conversions", "Conversions", "int"),
    ("conversion_rate", "Conversion rate", "pct"),
    ("sales", "Sales ({currency})", "money"),
    ("network_payout", "Network payout ({currency})", "money"),
    ("member_payout", "Member payout ({currency})", "money"),
    ("epc", "EPC ({currency}, member payout / click)", "epc"),
]


def _fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "int":
        return f"{value:,}"
    if kind == "money":
        return f"{Decimal(value):,.2f}"
    if kind == "pct":
        return f"{value}%"
    if kind == "epc":
        return f"{Decimal(value):.4f}"
    return str(value)


def _filter_context(request, form, f):
    ws = request.workspace
    query = f.as_query() if f else {}
    members = list(
        Member.objects.filter(workspace=ws, is_test=False)
        .order_by("name")
        .only("code", "name")[: MEMBER_SELECT_LIMIT + 1]
    )
    return {
        "form": form,
        "filters": f,
        "presets": PRESETS,
        "statuses": STATUS_CHOICES,
        "offers": Offer.objects.filter(workspace=ws).order_by("name").only("code", "name"),
        "members": members[:MEMBER_SELECT_LIMIT] if len(members) <= MEMBER_SELECT_LIMIT else None,
        "projects": Project.objects.filter(workspace=ws).order_by("name").only("code", "name"),
        "connections": NetworkConnection.objects.filter(workspace=ws).order_by("label"),
        "currencies": selectors.currencies(ws),
        "query": urlencode(query),
        "csv_query": urlencode({**query, "format": "csv"}),
    }


def _parse(request):
    form = ReportFilterForm(request.GET, workspace=request.workspace)
    if not form.is_valid():
        return form, None
    return form, form.filters()


def _invalid(request, form, title):
    ctx = {"title": title, **_filter_context(request, form, None)}
    return render(request, "reports/invalid.html", ctx, status=400)


@workspace_view()
@reads_from_replica
def dashboard(request):
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, "Sales Tracking")
    ws = request.workspace
    q = Query(ws, f)
    figures = selectors.summary_with_change(ws, f)
    cur, prev, delta = figures["current"], figures["previous"], figures["change"]
    ctx = {
        **_filter_context(request, form, f),
        "cards": [
            (label.format(currency=f.currency), _fmt(cur[key], kind), delta[key], _fmt(prev[key], kind))
            for key, label, kind in CARDS
        ],
        "current": cur,
        "previous_range": f.previous(),
        "chart": DAILY_CHART.render(q, list(selectors.by_day(ws, f))),
        "top_members": _top(ws, f, "member", "-member_payout"),
        "top_offers": _top(ws, f, "offer", "-sales"),
        "recent": raw_selectors.recent_conversions(ws, f),
        "has_data": bool(cur["clicks"] or cur["conversions"] or cur["bot_clicks"]),
        "rollups_at": RollupWatermark.objects.filter(pk=1).values_list("refreshed_at", flat=True).first(),
    }
    return render(request, "reports/dashboard.html", ctx)


def _top(workspace, f, dimension: str, sort: str) -> list[dict]:
    return list(selectors.iter_rows(selectors.performance_by(workspace, f, dimension, sort)[:5], dimension))


@workspace_view()
@reads_from_replica
def report_index(request):
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, "Reports")
    return render(request, "reports/index.html", _filter_context(request, form, f))


def _retention(report: Report, f) -> dict | None:
    """What retention removed from the range of a report that reads raw rows, for its note; None if nothing."""
    before = pruned_before(report.reads_raw) if report.reads_raw else None
    if before is None or f.bounds()[0] >= before:
        return None
    return {"rows": report.reads_raw, "before": before, "log_days": settings.POSTBACK_LOG_RETENTION_DAYS}


@workspace_view()
@reads_from_replica
def report_page(request, report: Report):
    """One report: its page (the first PAGE_ROWS rows), or with ?format=csv all of it, streamed."""
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, report.title)
    q = Query(request.workspace, f, sort=report.sort(request.GET.get("sort")))
    if request.GET.get("format") == "csv":
        name = f"{report.slug}-{f.start.isoformat()}-{f.end.isoformat()}.csv"
        return stream_csv(name, [header for header, _ in report.csv], report.csv_lines(q))
    rows = list(report.rows(q, PAGE_ROWS))
    shown = rows[:PAGE_ROWS]
    totals = report.totals(q) if report.totals is not None else None
    ctx = {
        **_filter_context(request, form, f),
        "title": report.title,
        "name_label": report.name_label,
        "headers": [_header(c, f, report.sorts, q.sort) for c in report.columns],
        "rows": [{"name": r["name"], "cells": _cells(r, report), "flags": r.get("flags", [])} for r in shown],
        "totals": _cells(totals, report) if totals is not None else None,
        "chart": report.chart.render(q, rows) if report.chart is not None else None,
        "note": report.note,
        "retention": _retention(report, f),
        # A report with rows shows them; the empty state is for when there are none.
        "empty": report.empty if not shown or (totals is not None and not _any_figure(totals)) else "",
        "truncated": len(shown) >= PAGE_ROWS,
        "page_rows": PAGE_ROWS,
        "sort": q.sort,
        "report_name": request.resolver_match.url_name,
    }
    return render(request, "reports/table.html", ctx)


def _header(column, f, sorts, sort) -> dict:
    """A column heading; a sortable one links to its descending sort, or ascending when that is shown."""
    label = column.label.format(currency=f.currency)
    header = {"label": label, "num": column.kind != "text", "sort": None, "active": ""}
    if column.key in sorts:
        descending = f"-{column.key}"
        header["sort"] = column.key if sort == descending else descending
        header["active"] = "▼" if sort == descending else ("▲" if sort == column.key else "")
    return header


def _cells(row: dict, report: Report) -> list[dict]:
    return [{"value": _fmt(row.get(c.key), c.kind), "num": c.kind != "text"} for c in report.columns]


def _any_figure(totals: dict) -> bool:
    return any(v for k, v in totals.items() if k in ("clicks", "bot_clicks", "conversions", "count"))
