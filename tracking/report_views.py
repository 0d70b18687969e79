"""Sales Tracking dashboard and reports (HTML pages and their streaming CSV exports)."""

import json
from decimal import Decimal
from itertools import islice
from urllib.parse import urlencode

from django.shortcuts import render
from django.utils import timezone

from offers.models import Member, NetworkConnection, Offer, Project
from tracking import reports
from tracking.models import PostbackLog
from workspaces.csv_export import stream_csv
from workspaces.decorators import workspace_view

PAGE_ROWS = 200
# Above this many members the member filter is a code field instead of a list.
MEMBER_SELECT_LIMIT = 300

# Column kinds decide formatting: int, money, pct, epc, text, day.
PERFORMANCE_COLUMNS = [
    ("clicks", "Clicks", "int"),
    ("unique_clicks", "Unique clicks", "int"),
    ("conversions", "Conversions", "int"),
    ("conversion_rate", "Conv. rate", "pct"),
    ("sales", "Sales", "money"),
    ("network_payout", "Network payout", "money"),
    ("member_payout", "Member payout", "money"),
    ("epc", "EPC (member payout / click)", "epc"),
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
    if kind == "day":
        return value.isoformat()
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
        "presets": reports.PRESETS,
        "statuses": reports.STATUS_CHOICES,
        "offers": Offer.objects.filter(workspace=ws).order_by("name").only("code", "name"),
        "members": members[:MEMBER_SELECT_LIMIT] if len(members) <= MEMBER_SELECT_LIMIT else None,
        "projects": Project.objects.filter(workspace=ws).order_by("name").only("code", "name"),
        "connections": NetworkConnection.objects.filter(workspace=ws).order_by("label"),
        "currencies": reports.currencies(ws),
        "query": urlencode(query),
        "csv_query": urlencode({**query, "format": "csv"}),
    }


def _parse(request):
    form = reports.ReportFilterForm(request.GET, workspace=request.workspace)
    if not form.is_valid():
        return form, None
    return form, form.filters()


def _invalid(request, form, title):
    ctx = {"title": title, **_filter_context(request, form, None)}
    return render(request, "tracking/reports/invalid.html", ctx, status=400)


def _line_chart(labels, datasets, *, stacked=False) -> str:
    config = {
        "type": "bar" if stacked else "line",
        "data": {"labels": labels, "datasets": datasets},
        "options": {"scales": {"x": {"stacked": stacked}, "y": {"beginAtZero": True, "stacked": stacked}}},
    }
    return json.dumps(config, default=str)


@workspace_view()
def dashboard(request):
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, "Sales Tracking")
    ws = request.workspace
    figures = reports.summary_with_change(ws, f)
    days = list(reports.by_day(ws, f))
    chart = _line_chart(
        [d["day"].isoformat() for d in days],
        [
            {"label": "Clicks", "data": [d["clicks"] for d in days], "yAxisID": "y"},
            {"label": "Conversions", "data": [d["conversions"] for d in days], "yAxisID": "y"},
        ],
    )
    cur, prev, delta = figures["current"], figures["previous"], figures["change"]
    cards = [
        (label, _fmt(cur[key], kind), delta[key], _fmt(prev[key], kind))
        for key, label, kind in [
            ("clicks", "Clicks", "int"),
            ("unique_clicks", "Unique clicks", "int"),
            ("conversions", "Conversions", "int"),
            ("conversion_rate", "Conversion rate", "pct"),
            ("sales", f"Sales ({f.currency})", "money"),
            ("network_payout", f"Network payout ({f.currency})", "money"),
            ("member_payout", f"Member payout ({f.currency})", "money"),
            ("epc", f"EPC ({f.currency}, member payout / click)", "epc"),
        ]
    ]
    ctx = {
        **_filter_context(request, form, f),
        "cards": cards,
        "current": cur,
        "previous_range": f.previous(),
        "chart": chart,
        "top_members": list(reports.iter_rows(reports.performance_by(ws, f, "member", "-member_payout")[:5], "member")),
        "top_offers": list(reports.iter_rows(reports.performance_by(ws, f, "offer", "-sales")[:5], "offer")),
        "recent": reports.recent_conversions(ws, f),
        "has_data": bool(cur["clicks"] or cur["conversions"] or cur["bot_clicks"]),
        "rollups_at": reports.RollupWatermark.objects.filter(pk=1).values_list("refreshed_at", flat=True).first(),
    }
    return render(request, "tracking/dashboard.html", ctx)


@workspace_view()
def report_index(request):
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, "Reports")
    return render(request, "tracking/reports/index.html", _filter_context(request, form, f))


def _table(
    request,
    *,
    title,
    slug,
    columns,
    rows,
    sort=None,
    sortable=(),
    totals=None,
    chart=None,
    note="",
    empty="",
    name_label="",
    form=None,
    f=None,
    count=None,
):
    """Render one report page from column specs; rows are dicts with a "name" (str) key."""
    shown = list(islice(rows, PAGE_ROWS))
    table = []
    for row in shown:
        cells = [{"value": _fmt(row.get(key), kind), "num": kind not in ("text", "day")} for key, _, kind in columns]
        table.append({"name": row.get("name", ""), "cells": cells, "flags": row.get("flags", [])})
    headers = []
    for key, label, kind in columns:
        header = {"label": label, "num": kind not in ("text", "day"), "sort": None, "active": ""}
        if key in sortable:
            header["sort"] = key if sort == f"-{key}" else f"-{key}"
            header["active"] = "▼" if sort == f"-{key}" else ("▲" if sort == key else "")
        headers.append(header)
    total_cells = None
    if totals is not None:
        total_cells = [
            {"value": _fmt(totals.get(key), kind), "num": kind not in ("text", "day")} for key, _, kind in columns
        ]
    ctx = {
        **_filter_context(request, form, f),
        "title": title,
        "slug": slug,
        "name_label": name_label,
        "headers": headers,
        "rows": table,
        "totals": total_cells,
        "chart": chart,
        "note": note,
        # A report with rows shows them; the empty state is for when there are none.
        "empty": empty if not table or (totals is not None and not any_figure(totals)) else "",
        "truncated": len(shown) >= PAGE_ROWS,
        "page_rows": PAGE_ROWS,
        "sort": sort,
    }
    return render(request, "tracking/reports/table.html", ctx)


def any_figure(totals: dict) -> bool:
    return any(v for k, v in totals.items() if k in ("clicks", "bot_clicks", "conversions", "count"))


def _csv_name(slug, f) -> str:
    return f"{slug}-{f.start.isoformat()}-{f.end.isoformat()}.csv"


def _performance(request, dimension: str, title: str, slug: str):
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, title)
    ws = request.workspace
    sort = reports.parse_sort(request.GET.get("sort"))
    qs = reports.performance_by(ws, f, dimension, sort)
    if request.GET.get("format") == "csv":
        extra = ["affiliate_id"] if dimension == "member" else []
        header = [dimension, f"{dimension}_code", *extra, *[k for k, _, _ in PERFORMANCE_COLUMNS], "currency"]

        def csv_rows():
            for r in reports.iter_rows(qs, dimension):
                ident = [r[f"{dimension}__name"] or f"(no {dimension})", r[f"{dimension}__code"] or ""]
                if dimension == "member":
                    ident.append(r["member__affiliate_id"] or "")
                yield [*ident, *[r[k] for k, _, _ in PERFORMANCE_COLUMNS], f.currency]

        return stream_csv(_csv_name(slug, f), header, csv_rows())

    def rows():
        for r in reports.iter_rows(qs[:PAGE_ROWS], dimension):
            r["name"] = r[f"{dimension}__name"] or ("Unattributed" if dimension == "member" else "(no offer)")
            yield r

    columns = [(k, label.replace("Sales", f"Sales ({f.currency})"), kind) for k, label, kind in PERFORMANCE_COLUMNS]
    return _table(
        request,
        title=title,
        slug=slug,
        columns=columns,
        rows=rows(),
        sort=sort,
        sortable=reports.SORTABLE,
        totals=reports.summary(ws, f),
        name_label="Member" if dimension == "member" else "Offer",
        empty="No clicks or conversions in this range. Widen the dates or clear a filter.",
        form=form,
        f=f,
    )


@workspace_view()
def report_members(request):
    return _performance(request, "member", "Performance by member", "performance-by-member")


@workspace_view()
def report_offers(request):
    return _performance(request, "offer", "Performance by offer", "performance-by-offer")


@workspace_view()
def report_days(request):
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, "Performance by day")
    ws = request.workspace
    if request.GET.get("format") == "csv":
        header = ["day", *[k for k, _, _ in PERFORMANCE_COLUMNS], "bot_clicks", "currency"]
        rows = (
            [r["day"].isoformat(), *[r[k] for k, _, _ in PERFORMANCE_COLUMNS], r["bot_clicks"], f.currency]
            for r in reports.by_day(ws, f)
        )
        return stream_csv(_csv_name("performance-by-day", f), header, rows)
    days = list(reports.by_day(ws, f))
    for d in days:
        d["name"] = d["day"].isoformat()
    chart = _line_chart(
        [d["name"] for d in days],
        [
            {"label": "Clicks", "data": [d["clicks"] for d in days]},
            {"label": "Conversions", "data": [d["conversions"] for d in days]},
            {"label": f"Member payout ({f.currency})", "data": [str(d["member_payout"]) for d in days]},
        ],
    )
    columns = PERFORMANCE_COLUMNS + [("bot_clicks", "Bot clicks", "int")]
    totals = reports.summary(ws, f)
    return _table(
        request,
        title="Performance by day",
        slug="performance-by-day",
        columns=columns,
        rows=iter(days),
        totals=totals,
        chart=chart,
        name_label="Day",
        empty="" if (totals["clicks"] or totals["conversions"]) else "No activity in this range yet.",
        form=form,
        f=f,
    )


RISK_COLUMNS = [
    ("clicks", "Clicks (all)", "int"),
    ("bot_share", "Bot share %", "text"),
    ("clicks_per_ip", "Clicks per IP", "text"),
    ("conversions", "Conversions", "int"),
    ("fast", f"Converted < {int(reports.FAST_CONVERSION.total_seconds())} s", "int"),
    ("slow", f"Converted > {reports.SLOW_CONVERSION.days} days", "int"),
    ("without_click", "Without a click", "int"),
    ("mismatches", "Affiliate id mismatch", "int"),
]


@workspace_view()
def report_risk(request):
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, "Risk by member")
    sort = request.GET.get("sort") or "-bot_share"
    rows = reports.risk_by_member(request.workspace, f, sort)
    if request.GET.get("format") == "csv":
        header = ["member", "member_code", "affiliate_id", *[k for k, _, _ in RISK_COLUMNS], "flags"]
        out = (
            [
                r["member"].name,
                r["member"].code,
                r["member"].affiliate_id,
                *[r[k] for k, _, _ in RISK_COLUMNS],
                "; ".join(r["flags"]),
            ]
            for r in rows
        )
        return stream_csv(_csv_name("risk-by-member", f), header, out)
    for r in rows:
        r["name"] = r["member"].name
    note = (
        f"Flags: bots above {reports.RISK_BOT_SHARE}% of clicks, more than {reports.RISK_CLICKS_PER_IP} counted "
        "clicks per hashed IP, conversions suspiciously soon or late after their click, conversions with no "
        "click, and postbacks naming another member's affiliate id. Reads raw rows of the range."
    )
    return _table(
        request,
        title="Risk by member",
        slug="risk-by-member",
        columns=RISK_COLUMNS,
        rows=iter(rows),
        sort=sort,
        sortable=reports.RISK_SORTABLE,
        note=note,
        name_label="Member",
        empty="No member traffic in this range.",
        form=form,
        f=f,
    )


@workspace_view()
def report_off_state(request):
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, "Clicks on paused or expired offers")
    ws = request.workspace
    qs = reports.off_state_by_offer(ws, f)
    offers = {o.id: o for o in Offer.objects.filter(workspace=ws, id__in=qs.values("offer_id"))}
    now = timezone.now()
    if request.GET.get("format") == "csv":
        out = (
            [
                r["offer__name"],
                r["offer__code"],
                offers[r["offer_id"]].state_at(now) if r["offer_id"] in offers else "",
                r["m_off_state_clicks"],
                r["m_clicks"],
            ]
            for r in qs.iterator()
        )
        return stream_csv(
            _csv_name("off-state-clicks", f), ["offer", "offer_code", "state_now", "off_state_clicks", "clicks"], out
        )
    rows = []
    for r in qs[:PAGE_ROWS]:
        offer = offers.get(r["offer_id"])
        rows.append(
            {
                "name": r["offer__name"],
                "state": offer.state_at(now) if offer else "",
                "off_state_clicks": r["m_off_state_clicks"],
                "clicks": r["m_clicks"],
            }
        )
    days = reports.off_state_by_day(ws, f)
    chart = None
    if rows:
        chart = _line_chart(
            [d["day"].isoformat() for d in days],
            [{"label": "Clicks on paused/expired offers", "data": [d["off_state_clicks"] for d in days]}],
            stacked=True,
        )
    return _table(
        request,
        title="Clicks on paused or expired offers",
        slug="off-state-clicks",
        columns=[
            ("state", "State now", "text"),
            ("off_state_clicks", "Off-state clicks", "int"),
            ("clicks", "All counted clicks", "int"),
        ],
        rows=iter(rows),
        chart=chart,
        note="Visitors who clicked while the offer was paused, expired or not yet started were sent to its "
        "fallback URL. These clicks are counted in every other report too.",
        name_label="Offer",
        empty="No clicks reached a paused or expired offer in this range.",
        form=form,
        f=f,
    )


@workspace_view()
def report_network_clicks(request):
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, "Network clicks vs ours")
    ws = request.workspace
    model = reports.network_click_model()
    rows = reports.network_clicks_vs_ours(ws, f) if model is not None else []
    if request.GET.get("format") == "csv":
        out = ([r["day"].isoformat(), r["connection"], r["ours"], r["network"], r["difference"]] for r in rows)
        return stream_csv(
            _csv_name("network-clicks", f), ["day", "network", "our_clicks", "network_clicks", "difference_pct"], out
        )
    for r in rows:
        r["name"] = r["day"].isoformat()
    chart = None
    if rows:
        labels = sorted({r["name"] for r in rows})
        ours = {}
        theirs = {}
        for r in rows:
            ours[r["name"]] = ours.get(r["name"], 0) + r["ours"]
            theirs[r["name"]] = theirs.get(r["name"], 0) + r["network"]
        chart = _line_chart(
            labels,
            [
                {"label": "Our clicks", "data": [ours[x] for x in labels]},
                {"label": "Network's clicks", "data": [theirs[x] for x in labels]},
            ],
        )
    if model is None:
        empty = "Network click counts are not available in this installation."
    else:
        empty = (
            "No network click counts for this range. They arrive with the Impact sync's daily click export; "
            "connect Impact under Networks."
        )
    return _table(
        request,
        title="Network clicks vs ours",
        slug="network-clicks",
        columns=[
            ("connection", "Network", "text"),
            ("ours", "Our clicks", "int"),
            ("network", "Network's clicks", "int"),
            ("difference", "Difference %", "text"),
        ],
        rows=iter(rows),
        chart=chart,
        note="Our counted clicks on the connection's offers beside the clicks the network reports for the same day. "
        "A large gap points at blocked redirects, bots or links that skip the hub.",
        name_label="Day",
        empty=empty,
        form=form,
        f=f,
    )


@workspace_view()
def report_postbacks(request):
    form, f = _parse(request)
    if f is None:
        return _invalid(request, form, "Postback outcomes")
    data = reports.postback_outcomes(request.workspace, f)
    outcomes = PostbackLog.Outcome
    if request.GET.get("format") == "csv":
        out = ([d["day"].isoformat(), *[d[o] for o in outcomes.values]] for d in data["days"])
        return stream_csv(_csv_name("postback-outcomes", f), ["day", *outcomes.values], out)
    rows = [{"name": label, "count": data["totals"].get(value, 0)} for value, label in outcomes.choices]
    chart = None
    if data["total"]:
        chart = _line_chart(
            [d["day"].isoformat() for d in data["days"]],
            [{"label": label, "data": [d[value] for d in data["days"]]} for value, label in outcomes.choices],
            stacked=True,
        )
    for reason in data["reasons"]:
        reason["name"] = f"{reason['outcome']}: {reason['reason']}"
    ctx_rows = rows + [{"name": r["name"], "count": r["count"]} for r in data["reasons"]]
    return _table(
        request,
        title="Postback outcomes",
        slug="postback-outcomes",
        columns=[("count", "Hits", "int")],
        rows=iter(ctx_rows),
        totals={"count": data["total"]},
        chart=chart,
        note="Every postback and pixel hit of the range by outcome, then the most frequent reasons. "
        "Open the Postback log to see and replay single hits.",
        name_label="Outcome",
        empty="" if data["total"] else "No postbacks or pixel hits in this range.",
        form=form,
        f=f,
    )
