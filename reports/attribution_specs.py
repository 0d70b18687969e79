"""Reports on how sales reach members: conversions by channel (link click, promo code,
affiliate id), read from raw conversion rows of the range.

Specs as in reports/specs.py; the one report view serves them.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, CharField, Count, DecimalField, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from offers.models import Member
from reports.filters import ReportFilters
from reports.raw_selectors import _raw_dimensions
from reports.specs import Column, Query, Report, as_csv, currency
from tracking.models import AttributedBy, Conversion
from workspaces.models import Workspace

ZERO = Decimal("0.00")
CHANNELS = (("link", "Link"), ("code", "Promo code"), ("member", "Affiliate id"))


def channel():
    """What tied a conversion to its member, for rows stored before the conversion kept it."""
    return Case(
        When(~Q(attributed_by=""), then="attributed_by"),
        When(click__isnull=False, then=Value(AttributedBy.CLICK)),
        When(member__isnull=False, then=Value(AttributedBy.AFFILIATE)),
        default=Value(""),
        output_field=CharField(),
    )


def conversions_by_channel(workspace: Workspace, f: ReportFilters) -> list[dict]:
    """Per member: conversions and sales through a link click, a promo code and an affiliate id.

    A manager's re-attribution counts under the link when it names a click, else the
    affiliate id. One grouped query over the range's conversions (the (workspace, event_at) index).
    """
    start, end = f.bounds()
    qs = Conversion.objects.filter(
        workspace=workspace, event_at__gte=start, event_at__lt=end, status__in=f.statuses, member__isnull=False
    )
    qs = _raw_dimensions(qs.exclude(source="test").exclude(member__is_test=True), f, connection_field="connection")
    by = {
        "link": Q(via=AttributedBy.CLICK),
        "code": Q(via=AttributedBy.CODE),
        "member": Q(via__in=(AttributedBy.AFFILIATE, AttributedBy.MANUAL)),
    }
    money = DecimalField(max_digits=16, decimal_places=2)
    aggregates = {}
    for key, where in by.items():
        aggregates[f"{key}_conversions"] = Count("id", filter=where)
        aggregates[f"{key}_sales"] = Coalesce(
            Sum("sale_amount", filter=where & Q(currency=f.currency)), ZERO, output_field=money
        )
    rows = list(
        qs.annotate(via=channel()).values("member_id").annotate(conversions=Count("id"), **aggregates).order_by()
    )
    members = {m.id: m for m in Member.objects.filter(id__in=[r["member_id"] for r in rows]).only("name", "code")}
    for r in rows:
        r["member"] = members[r["member_id"]]
        r["name"] = r["member"].name
        share = Decimal(r["code_conversions"]) * 100 / r["conversions"] if r["conversions"] else Decimal(0)
        r["code_share"] = share.quantize(Decimal("0.1"))
        for key, _ in CHANNELS:
            r[f"{key}_sales"] = Decimal(r[f"{key}_sales"]).quantize(Decimal("0.01"))
    rows.sort(key=lambda r: (-r["conversions"], r["name"]))
    return rows


def channel_totals(q: Query) -> dict:
    rows = q.read(conversions_by_channel)
    totals = {
        key: sum(r[key] for r in rows)
        for key in ("conversions", *(f"{k}_{m}" for k, _ in CHANNELS for m in ("conversions", "sales")))
    }
    share = Decimal(totals["code_conversions"]) * 100 / totals["conversions"] if totals["conversions"] else Decimal(0)
    totals["code_share"] = share.quantize(Decimal("0.1"))
    return totals


CHANNEL_COLUMNS = (
    Column("link_conversions", "Via link"),
    Column("code_conversions", "Via promo code"),
    Column("member_conversions", "Via affiliate id"),
    Column("conversions", "Conversions"),
    Column("code_share", "Code share %", "text"),
    Column("link_sales", "Link sales ({currency})", "money"),
    Column("code_sales", "Code sales ({currency})", "money"),
    Column("member_sales", "Affiliate id sales ({currency})", "money"),
)
BY_CHANNEL = Report(
    slug="conversions-by-channel",
    title="Conversions by link vs code",
    name_label="Member",
    columns=CHANNEL_COLUMNS,
    rows=lambda q, limit: q.read(conversions_by_channel)[:limit],
    csv=(
        ("member", "name"),
        ("member_code", lambda r, f: r["member"].code),
        *as_csv(CHANNEL_COLUMNS),
        ("currency", currency),
    ),
    totals=channel_totals,
    note="How each member's conversions were attributed: a click on their link (which always wins), a promo code "
    "the customer used without a click, or the affiliate id a network sent. Reads raw conversions of the range.",
    empty="No attributed conversions in this range.",
)
