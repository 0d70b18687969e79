"""Report figures read from the daily rollups (reports/models.py).

Definitions (also in the README):
- clicks are counted clicks: bot clicks are left out (and shown separately);
- a conversion counts when its status is one of the chosen statuses, by default
  pending and approved (reversed and rejected are left out);
- conversion rate = conversions / unique clicks;
- EPC = member payout / clicks (what a click earns the member);
- money figures are in one currency at a time (the workspace's unless another is
  chosen); conversions in other currencies are counted but not summed;
- test members and test conversions are left out of every report (the rollups
  never hold them).

Every report reads these except the risk report, the dashboard's latest
conversions and the postback outcomes (reports/raw_selectors.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Cast, Coalesce, NullIf

from networks.models import NetworkClickCount
from offers.models import Member, NetworkConnection, Offer
from reports.filters import ReportFilters
from reports.models import DailyRollup
from workspaces.models import Workspace

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def rollup_grain(f: ReportFilters, group: str | None = None) -> str:
    """The coarsest rollup grain that has the dimensions a report groups and filters by."""
    dims = {group} - {None, "day"}
    for name, obj in (("offer", f.offer), ("member", f.member), ("project", f.project), ("connection", f.connection)):
        if obj is not None:
            dims.add(name)
    if not dims:
        return "total"
    if dims <= {"member", "project"}:
        return "member"
    if dims <= {"offer", "connection"}:
        return "offer"
    return "link"


def _rollup_rows(workspace: Workspace, f: ReportFilters, group: str | None = None):
    qs = DailyRollup.objects.filter(workspace=workspace, grain=rollup_grain(f, group), day__gte=f.start, day__lte=f.end)
    # Click rows (status "") always count; conversion rows only in the chosen statuses.
    return qs.filter(status__in=("", *f.statuses), **f.lookups())


def _money(field: str, currency: str):
    return Coalesce(Sum(field, filter=Q(currency=currency)), ZERO, output_field=DecimalField())


METRICS = (
    "clicks",
    "unique_clicks",
    "bot_clicks",
    "off_state_clicks",
    "conversions",
    "sales",
    "network_payout",
    "member_payout",
    "other_currency_conversions",
)


def _metrics(f: ReportFilters) -> dict:
    """Aggregates named ``m_<metric>`` (a name may not shadow a rollup column); ``_finish`` renames them."""
    return {
        "m_clicks": Coalesce(Sum("clicks"), 0),
        "m_unique_clicks": Coalesce(Sum("unique_clicks"), 0),
        "m_bot_clicks": Coalesce(Sum("bot_clicks"), 0),
        "m_off_state_clicks": Coalesce(Sum("off_state_clicks"), 0),
        "m_conversions": Coalesce(Sum("conversions"), 0),
        "m_sales": _money("sales", f.currency),
        "m_network_payout": _money("network_payout", f.currency),
        "m_member_payout": _money("member_payout", f.currency),
        "m_other_currency_conversions": Coalesce(Sum("conversions", filter=~Q(currency__in=("", f.currency))), 0),
    }


def _ratios() -> dict:
    """Conversion rate (percent) and EPC, computed in SQL so that they sort in SQL."""
    dec = DecimalField(max_digits=20, decimal_places=6)
    return {
        "m_conversion_rate": ExpressionWrapper(
            Cast(F("m_conversions"), dec) * 100 / NullIf(Cast(F("m_unique_clicks"), dec), 0), output_field=dec
        ),
        "m_epc": ExpressionWrapper(F("m_member_payout") / NullIf(Cast(F("m_clicks"), dec), 0), output_field=dec),
    }


def conversion_rate(conversions: int, unique_clicks: int) -> Decimal | None:
    if not unique_clicks:
        return None
    return (Decimal(conversions) * 100 / Decimal(unique_clicks)).quantize(CENT, ROUND_HALF_UP)


def epc(member_payout: Decimal, clicks: int) -> Decimal | None:
    if not clicks:
        return None
    return (Decimal(member_payout) / Decimal(clicks)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _finish(row: dict) -> dict:
    """Rename the ``m_`` aggregates and compute the ratios exactly (SQL ones only sort)."""
    for name in METRICS:
        if "m_" + name in row:
            row[name] = row.pop("m_" + name)
    row.pop("m_conversion_rate", None)
    row.pop("m_epc", None)
    # SQLite sums decimals without their scale (150 for 150.00): money always has two places.
    for name in ("sales", "network_payout", "member_payout"):
        if row.get(name) is not None:
            row[name] = Decimal(row[name]).quantize(CENT)
    row["conversion_rate"] = conversion_rate(row["conversions"], row["unique_clicks"])
    row["epc"] = epc(row["member_payout"], row["clicks"])
    return row


def summary(workspace: Workspace, f: ReportFilters) -> dict:
    return _finish(_rollup_rows(workspace, f).aggregate(**_metrics(f)))


def change(current, previous) -> Decimal | None:
    """Percent change from ``previous`` to ``current``; None when there is nothing to compare with."""
    if current is None or previous is None or not previous:
        return None
    return ((Decimal(current) - Decimal(previous)) * 100 / Decimal(previous)).quantize(Decimal("0.1"), ROUND_HALF_UP)


SUMMARY_FIELDS = (
    "clicks",
    "unique_clicks",
    "conversions",
    "conversion_rate",
    "sales",
    "network_payout",
    "member_payout",
    "epc",
)


def summary_with_change(workspace: Workspace, f: ReportFilters) -> dict:
    current = summary(workspace, f)
    previous = summary(workspace, f.previous())
    return {
        "current": current,
        "previous": previous,
        "change": {k: change(current[k], previous[k]) for k in SUMMARY_FIELDS},
    }


# Sortable columns of the performance reports (the dimension's name sorts too).
SORTABLE = ("clicks", "unique_clicks", "conversions", "conversion_rate", "sales", "network_payout", "member_payout")
SORTABLE += ("epc", "bot_clicks")

# The public fields of each dimension, attached to report rows as "<dimension>__<field>".
DIMENSIONS = {
    "member": (Member, ("name", "code", "affiliate_id")),
    "offer": (Offer, ("name", "code")),
}


def parse_sort(value: str | None, default: str = "-clicks", allowed: tuple[str, ...] = (*SORTABLE, "name")) -> str:
    """``value`` ("column" or "-column" for descending) when it names an allowed column, else ``default``."""
    value = value or default
    name = value.lstrip("-")
    if name not in allowed:
        return default
    return value


def performance_by(workspace: Workspace, f: ReportFilters, dimension: str, sort: str = "-clicks"):
    """Rows per member or per offer, with the same metrics as the summary, sorted in SQL.

    Rows are grouped by the dimension's id alone (a narrow hash aggregate); names
    are attached afterwards by ``iter_rows`` for just the rows read.
    """
    id_field = f"{dimension}_id"
    sort = parse_sort(sort)
    name = sort.lstrip("-")
    fields = (id_field, f"{dimension}__name") if name == "name" else (id_field,)
    key = f"{dimension}__name" if name == "name" else "m_" + name
    descending = sort.startswith("-")
    order = F(key).desc(nulls_last=True) if descending else F(key).asc(nulls_last=True)
    return (
        _rollup_rows(workspace, f, dimension)
        .values(*fields)
        .annotate(**_metrics(f))
        .annotate(**_ratios())
        .order_by(order, id_field)
    )


def iter_rows(qs, dimension: str | None = None, chunk_size: int = 2000) -> Iterator[dict]:
    """Stream a report queryset with exact ratios and, per chunk, the dimension's names and codes."""
    batch: list[dict] = []
    # A small slice (a page) is read at once; a whole report streams through a server-side cursor.
    rows = iter(qs) if qs.query.is_sliced else qs.iterator(chunk_size=chunk_size)
    for row in rows:
        batch.append(_finish(row))
        if len(batch) >= chunk_size:
            yield from _named(batch, dimension)
            batch = []
    yield from _named(batch, dimension)


def _named(rows: list[dict], dimension: str | None) -> list[dict]:
    if not rows or dimension is None:
        return rows
    model, fields = DIMENSIONS[dimension]
    ids = {r[f"{dimension}_id"] for r in rows} - {None}
    found = {o["id"]: o for o in model.objects.filter(id__in=ids).values("id", *fields)}
    for r in rows:
        obj = found.get(r[f"{dimension}_id"], {})
        for field in fields:
            r[f"{dimension}__{field}"] = obj.get(field)
    return rows


def by_day(workspace: Workspace, f: ReportFilters) -> Iterator[dict]:
    """One row per day of the range, days without activity included (zeros)."""
    rows = _rollup_rows(workspace, f).values("day").annotate(**_metrics(f)).order_by("day").iterator()
    empty = {k: 0 for k in ("clicks", "unique_clicks", "bot_clicks", "off_state_clicks", "conversions")}
    empty.update(sales=ZERO, network_payout=ZERO, member_payout=ZERO, other_currency_conversions=0)
    pending = next(rows, None)
    day = f.start
    while day <= f.end:
        if pending is not None and pending["day"] == day:
            yield _finish(pending)
            pending = next(rows, None)
        else:
            yield _finish({"day": day, **empty})
        day += timedelta(days=1)


def off_state_by_offer(workspace: Workspace, f: ReportFilters):
    """Offers that received clicks while paused, expired or not yet started."""
    return (
        _rollup_rows(workspace, f, "offer")
        .values("offer_id", "offer__name", "offer__code")
        .annotate(m_off_state_clicks=Coalesce(Sum("off_state_clicks"), 0), m_clicks=Coalesce(Sum("clicks"), 0))
        .filter(m_off_state_clicks__gt=0)
        .order_by("-m_off_state_clicks", "offer_id")
    )


def off_state_by_day(workspace: Workspace, f: ReportFilters) -> list[dict]:
    counts = dict(
        _rollup_rows(workspace, f)
        .values("day")
        .annotate(n=Coalesce(Sum("off_state_clicks"), 0))
        .order_by()
        .values_list("day", "n")
    )
    return [
        {"day": f.start + timedelta(days=i), "off_state_clicks": counts.get(f.start + timedelta(days=i), 0)}
        for i in range(f.days)
    ]


def currencies(workspace: Workspace) -> list[str]:
    """Currencies money may be reported in: the workspace's, its networks' and its offers'."""
    found = {workspace.currency}
    found.update(NetworkConnection.objects.filter(workspace=workspace).values_list("currency", flat=True))
    found.update(Offer.objects.filter(workspace=workspace).values_list("currency", flat=True).distinct())
    return sorted(found)


def network_clicks_vs_ours(workspace: Workspace, f: ReportFilters) -> list[dict]:
    """Per day and connection: our counted clicks beside the clicks the network reported."""
    theirs = NetworkClickCount.objects.filter(workspace=workspace, date__gte=f.start, date__lte=f.end)
    if f.connection is not None:
        theirs = theirs.filter(connection=f.connection)
    network = {
        (r["date"], r["connection_id"]): r["n"]
        for r in theirs.values("date", "connection_id").annotate(n=Sum("clicks")).order_by()
    }
    if not network:
        return []
    ours_qs = _rollup_rows(workspace, f, "connection").filter(connection_id__in={c for _, c in network})
    ours = {
        (r["day"], r["connection_id"]): r["n"]
        for r in ours_qs.values("day", "connection_id").annotate(n=Coalesce(Sum("clicks"), 0)).order_by()
    }
    labels = dict(NetworkConnection.objects.filter(workspace=workspace).values_list("id", "label"))
    rows = []
    for day, connection_id in sorted(set(network) | set(ours)):
        # A day without the network's count is unknown (None), not zero clicks.
        mine, their = ours.get((day, connection_id), 0), network.get((day, connection_id))
        diff = change(mine, their) if their is not None else None
        rows.append(
            {
                "day": day,
                "connection": labels.get(connection_id, ""),
                "ours": mine,
                "network": their,
                "difference": diff,
            }
        )
    return rows
