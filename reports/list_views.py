"""The Members and Links lists: the offers app's filters, with clicks, conversions and earnings per row.

They live here, above tracking, because their figures come from the rollups and tracking's rows
(reports/list_figures.py); the forms, detail pages and actions stay in the offers app.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import render
from django.utils import timezone

from offers import forms, selectors, services
from reports import list_figures
from reports.filters import PRESETS, PeriodForm, preset_range
from workspaces.csv_export import stream_csv
from workspaces.decorators import workspace_view

PAGE_SIZE = 50
CENT = Decimal("0.01")
# Column headings that sort: (key, label, numeric). A figure sorts descending on its first click, text ascending.
MEMBER_HEADINGS = (("name", "Name", False), ("clicks", "Clicks", True), ("conversions", "Conversions", True))
LINK_HEADINGS = (("member", "Member", False), ("offer", "Offer", False), ("created", "Created", False))
LINK_HEADINGS += (("clicks", "Clicks", True), ("conversions", "Conversions", True))


def _period(request) -> tuple[PeriodForm, dict]:
    """The chosen days (last 30 by default); a mistyped range is reported on its field and the default used."""
    form = PeriodForm(request.GET)
    if form.is_valid():
        return form, {k: form.cleaned_data[k] for k in ("preset", "start", "end")}
    start, end = preset_range("30d", timezone.localdate())
    return form, {"preset": "30d", "start": start, "end": end}


@dataclass
class Listing:
    """A list request read: the filters, the days of the figures, the sort, and the rows in that order."""

    form: object
    filters: dict
    period_form: PeriodForm
    period: dict
    sort: str
    rows: QuerySet


def _listing(request, form_class, select, with_figures, sorts: dict, default_sort: str) -> Listing:
    form = form_class(request.GET, workspace=request.workspace)
    filters = {k: v for k, v in (form.cleaned_data if form.is_valid() else {}).items() if v}
    period_form, period = _period(request)
    sort = list_figures.parse_sort(request.GET.get("sort"), sorts, default_sort)
    rows = with_figures(
        select(workspace=request.workspace, **filters),
        workspace=request.workspace,
        start=period["start"],
        end=period["end"],
    )
    return Listing(form, filters, period_form, period, sort, list_figures.order_by_sort(rows, sort, sorts))


def _headings(request, headings, sort: str, currency: str) -> dict:
    """Each sortable heading: the query that sorts by it (filters kept, back to page 1), its arrow, aria-sort."""
    out = {}
    for key, label, numeric in (*headings, ("earnings", f"Earnings ({currency})", True)):
        query = request.GET.copy()
        query.pop("page", None)
        if sort == key:
            query["sort"], arrow, aria = f"-{key}", "▲", "ascending"
        elif sort == f"-{key}":
            query["sort"], arrow, aria = key, "▼", "descending"
        else:
            query["sort"], arrow, aria = (f"-{key}" if numeric else key), "", ""
        out[key] = {"label": label, "query": query.urlencode(), "arrow": arrow, "aria": aria, "num": numeric}
    return out


def _list_context(request, listing: Listing, headings) -> dict:
    return {
        "form": listing.form,
        "filtered": bool(listing.filters),
        "period_form": listing.period_form,
        "period": listing.period,
        "presets": PRESETS,
        "days_zone": settings.TIME_ZONE,  # report days are the hub's, whoever looks
        "headings": _headings(request, headings, listing.sort, request.workspace.currency),
        "page": Paginator(listing.rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "can_manage": bool(request.membership and request.membership.can("manage")),
    }


def _members(request) -> Listing:
    return _listing(
        request,
        forms.MemberFilterForm,
        selectors.list_members,
        list_figures.members_with_figures,
        list_figures.MEMBER_SORTS,
        "name",
    )


@workspace_view()
def member_list(request):
    ctx = _list_context(request, _members(request), MEMBER_HEADINGS)
    ctx["any_members"] = request.workspace.members.exists()
    return render(request, "reports/member_list.html", ctx)


@workspace_view()
def export_members(request):
    listing = _members(request)
    currency = request.workspace.currency
    rows = (
        [
            m.name,
            m.email,
            m.handle,
            m.paypal_email,
            m.project.name if m.project else "",
            m.is_test,
            m.affiliate_id,
            m.status,
            *_figures(m, currency),
        ]
        for m in listing.rows.iterator(chunk_size=500)
    )
    header = [*services.IMPORT_COLUMNS, *services.IMPORT_IGNORED_COLUMNS]
    return stream_csv(_csv_name("members", listing.period), header, rows)


def _links(request) -> Listing:
    return _listing(
        request,
        forms.LinkFilterForm,
        selectors.list_links,
        list_figures.links_with_figures,
        list_figures.LINK_SORTS,
        "-created",
    )


@workspace_view()
def link_list(request):
    ctx = _list_context(request, _links(request), LINK_HEADINGS)
    ctx["any_links"] = request.workspace.links.exists()
    return render(request, "reports/link_list.html", ctx)


LINK_CSV_HEADER = ["url", "code", "vanity", "offer", "member", "affiliate_id", "destination_url"]
LINK_CSV_HEADER += ["sub1", "sub2", "sub3", "sub4", "sub5", "created_at", *list_figures.FIGURES, "currency"]


@workspace_view()
def export_links(request):
    listing = _links(request)
    currency = request.workspace.currency
    rows = (
        [
            services.link_url(link),
            link.code,
            link.vanity or "",
            link.offer.name,
            link.member.name,
            link.member.affiliate_id,
            link.destination_url,
            *link.subs,
            link.created_at,
            *_figures(link, currency),
        ]
        for link in listing.rows.iterator(chunk_size=500)
    )
    return stream_csv(_csv_name("links", listing.period), LINK_CSV_HEADER, rows)


def _figures(row, currency: str) -> list:
    # SQLite sums decimals without their scale: money always leaves with two places.
    return [row.fig_clicks, row.fig_conversions, Decimal(row.fig_earnings).quantize(CENT), currency]


def _csv_name(name: str, period: dict) -> str:
    return f"{name}-{period['start'].isoformat()}-{period['end'].isoformat()}.csv"
