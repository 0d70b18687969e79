"""Report figures: filters, selectors over the daily rollups, and rollup maintenance.

Definitions (also in the README):
- clicks are counted clicks: bot clicks are left out (and shown separately);
- a conversion counts when its status is one of the chosen statuses, by default
  pending and approved (reversed and rejected are left out);
- conversion rate = conversions / unique clicks;
- EPC = member payout / clicks (what a click earns the member);
- money figures are in one currency at a time (the workspace's unless another is
  chosen); conversions in other currencies are counted but not summed;
- test members and test conversions are left out of every report.

Every report except the risk report and the postback log summary reads
``DailyRollup``. Rows of a day are rebuilt from the raw tables by
``recompute_rollups``; ``refresh_rollups_all_workspaces`` finds the days that
changed since the last run, and the ``rebuildrollups`` command rebuilds history.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from time import monotonic

from django import forms
from django.apps import apps
from django.db import transaction
from django.db.models import Count, DecimalField, DurationField, ExpressionWrapper, F, Max, Q, Sum
from django.db.models.functions import Cast, Coalesce, NullIf, TruncDate
from django.utils import timezone

from offers.models import Member, NetworkConnection, Offer, Project
from tracking.models import (
    Click,
    Conversion,
    ConversionChange,
    ConversionEvent,
    ConversionStatus,
    DailyRollup,
    PostbackLog,
    RollupDirtyDay,
    RollupWatermark,
)
from workspaces.models import Workspace

COUNTED_STATUSES = (ConversionStatus.PENDING.value, ConversionStatus.APPROVED.value)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_RANGE_DAYS = 3 * 366
# Dates outside these are typing mistakes (and would overflow date arithmetic).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)

# Risk thresholds: a conversion within FAST_CONVERSION of its click, or more than
# SLOW_CONVERSION after it, is an outlier; a member is flagged for review above
# these shares and ratios.
FAST_CONVERSION = timedelta(seconds=30)
SLOW_CONVERSION = timedelta(days=30)
RISK_BOT_SHARE = Decimal("20")
RISK_CLICKS_PER_IP = Decimal("5")

PRESETS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "mtd": "This month",
    "last_month": "Last month",
    "custom": "Custom",
}
STATUS_CHOICES = {
    "counted": "Pending + approved",
    "pending": "Pending",
    "approved": "Approved",
    "reversed": "Reversed",
    "rejected": "Rejected",
}


# ---------------------------------------------------------------------------
# Filters


@dataclasses.dataclass(frozen=True)
class ReportFilters:
    start: date
    end: date  # inclusive
    currency: str
    offer: Offer | None = None
    member: Member | None = None
    project: Project | None = None
    connection: NetworkConnection | None = None
    status: str = "counted"
    preset: str = "30d"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def statuses(self) -> tuple[str, ...]:
        return COUNTED_STATUSES if self.status == "counted" else (self.status,)

    def previous(self) -> ReportFilters:
        """The period of equal length just before this one."""
        return dataclasses.replace(
            self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1), preset="custom"
        )

    def bounds(self) -> tuple[datetime, datetime]:
        """Aware datetimes [start of start, start of the day after end) in the display time zone."""
        tz = timezone.get_default_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz),
        )

    def as_query(self) -> dict[str, str]:
        """The filters as query parameters (for links to CSV and sorted views)."""
        q = {"start": self.start.isoformat(), "end": self.end.isoformat(), "preset": self.preset}
        if self.status != "counted":
            q["status"] = self.status
        for name, obj in (
            ("offer", self.offer),
            ("member", self.member),
            ("project", self.project),
            ("network", self.connection),
        ):
            if obj is not None:
                q[name] = str(obj.code)
        return q


def preset_range(preset: str, today: date) -> tuple[date, date]:
    if preset == "7d":
        return today - timedelta(days=6), today
    if preset == "90d":
        return today - timedelta(days=89), today
    if preset == "mtd":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    return today - timedelta(days=29), today


class ReportFilterForm(forms.Form):
    """The filter bar of every report page and the query parameters of the report API."""

    preset = forms.ChoiceField(choices=list(PRESETS.items()), required=False)
    start = forms.DateField(required=False, help_text="YYYY-MM-DD, inclusive")
    end = forms.DateField(required=False, help_text="YYYY-MM-DD, inclusive")
    offer = forms.UUIDField(required=False)
    member = forms.UUIDField(required=False)
    project = forms.UUIDField(required=False)
    network = forms.UUIDField(required=False)
    status = forms.ChoiceField(choices=list(STATUS_CHOICES.items()), required=False)
    currency = forms.RegexField(regex=r"^[A-Z]{3}$", required=False, error_messages={"invalid": "Use a 3-letter code."})

    def __init__(self, data, *, workspace: Workspace):
        super().__init__(data)
        self.workspace = workspace

    def _resolve(self, name: str, model):
        code = self.cleaned_data.get(name)
        if code is None:
            return None
        # Resolved inside the workspace: another workspace's code is just "not found".
        obj = model.objects.filter(workspace=self.workspace, code=code).first()
        if obj is None:
            raise forms.ValidationError(f"No such {name} in this workspace.", code="not_found")
        return obj

    def clean_offer(self):
        return self._resolve("offer", Offer)

    def clean_member(self):
        return self._resolve("member", Member)

    def clean_project(self):
        return self._resolve("project", Project)

    def clean_network(self):
        return self._resolve("network", NetworkConnection)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        today = timezone.localdate()
        preset = data.get("preset") or ""
        start, end = data.get("start"), data.get("end")
        if preset and preset != "custom":
            start, end = preset_range(preset, today)
        elif start or end:
            preset = "custom"
            end = end or today
            start = start or end - timedelta(days=29)
        else:
            preset = "30d"
            start, end = preset_range(preset, today)
        for name, value in (("start", start), ("end", end)):
            if not (FIRST_DAY <= value <= LAST_DAY):
                raise forms.ValidationError({name: f"Choose a day between {FIRST_DAY} and {LAST_DAY}."})
        if start > end:
            raise forms.ValidationError({"start": "The start date must not be after the end date."})
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise forms.ValidationError({"start": f"Choose a range of at most {MAX_RANGE_DAYS} days."})
        data.update(preset=preset, start=start, end=end)
        return data

    def filters(self) -> ReportFilters:
        d = self.cleaned_data
        return ReportFilters(
            start=d["start"],
            end=d["end"],
            preset=d["preset"],
            currency=d.get("currency") or self.workspace.currency,
            offer=d.get("offer"),
            member=d.get("member"),
            project=d.get("project"),
            connection=d.get("network"),
            status=d.get("status") or "counted",
        )


def default_filters(workspace: Workspace) -> ReportFilters:
    form = ReportFilterForm({}, workspace=workspace)
    form.is_valid()
    return form.filters()


# ---------------------------------------------------------------------------
# Figures from the rollups


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
    qs = qs.filter(status__in=("", *f.statuses))
    if f.offer is not None:
        qs = qs.filter(offer=f.offer)
    if f.member is not None:
        qs = qs.filter(member=f.member)
    if f.project is not None:
        qs = qs.filter(project=f.project)
    if f.connection is not None:
        qs = qs.filter(connection=f.connection)
    return qs


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


def parse_sort(value: str | None, default: str = "-clicks") -> str:
    value = value or default
    name = value.lstrip("-")
    if name not in (*SORTABLE, "name"):
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


# ---------------------------------------------------------------------------
# Reports over raw rows (bounded by the date range, served by the workspace/time indexes)


def recent_conversions(workspace: Workspace, f: ReportFilters, limit: int = 10):
    start, end = f.bounds()
    qs = Conversion.objects.filter(workspace=workspace, event_at__gte=start, event_at__lt=end)
    qs = _raw_dimensions(qs.exclude(source="test").exclude(member__is_test=True), f, connection_field="connection")
    return qs.select_related("member", "offer").order_by("-event_at", "-id")[:limit]


def _raw_dimensions(qs, f: ReportFilters, *, connection_field: str):
    if f.offer is not None:
        qs = qs.filter(offer=f.offer)
    if f.member is not None:
        qs = qs.filter(member=f.member)
    if f.project is not None:
        qs = qs.filter(member__project=f.project)
    if f.connection is not None:
        qs = qs.filter(**{connection_field: f.connection})
    return qs


def risk_by_member(workspace: Workspace, f: ReportFilters, sort: str = "-bot_share") -> list[dict]:
    """Per member: bot share, clicks per hashed IP, click-to-conversion outliers,
    conversions without a click and affiliate id mismatches.

    Reads raw clicks and conversions of the range (one grouped query each); the
    result has one row per member, so it is small whatever the traffic.
    """
    start, end = f.bounds()
    clicks = Click.objects.filter(workspace=workspace, created_at__gte=start, created_at__lt=end)
    clicks = _raw_dimensions(clicks.exclude(member__is_test=True), f, connection_field="offer__connection")
    click_rows = clicks.values("member_id").annotate(
        total=Count("id"),
        bots=Count("id", filter=Q(is_bot=True)),
        counted=Count("id", filter=Q(is_bot=False)),
        ips=Count("ip_hash", distinct=True, filter=Q(is_bot=False) & ~Q(ip_hash="")),
    )
    delay = ExpressionWrapper(F("event_at") - F("click__created_at"), output_field=DurationField())
    conversions = Conversion.objects.filter(
        workspace=workspace, event_at__gte=start, event_at__lt=end, status__in=f.statuses, member__isnull=False
    )
    conversions = _raw_dimensions(
        conversions.exclude(source="test").exclude(member__is_test=True), f, connection_field="connection"
    )
    conv_rows = (
        conversions.annotate(delay=delay)
        .values("member_id")
        .annotate(
            conversions=Count("id"),
            without_click=Count("id", filter=Q(click__isnull=True)),
            fast=Count("id", filter=Q(delay__lt=FAST_CONVERSION)),
            slow=Count("id", filter=Q(delay__gt=SLOW_CONVERSION)),
            mismatches=Count("id", filter=Q(affiliate_mismatch=True)),
        )
    )
    rows: dict[int, dict] = {}

    def row(member_id):
        return rows.setdefault(
            member_id,
            {
                "member_id": member_id,
                "clicks": 0,
                "bot_clicks": 0,
                "counted": 0,
                "ips": 0,
                "conversions": 0,
                "without_click": 0,
                "fast": 0,
                "slow": 0,
                "mismatches": 0,
            },
        )

    for r in click_rows.order_by():
        row(r["member_id"]).update(clicks=r["total"], bot_clicks=r["bots"], counted=r["counted"], ips=r["ips"])
    for r in conv_rows.order_by():
        row(r["member_id"]).update({k: r[k] for k in ("conversions", "without_click", "fast", "slow", "mismatches")})
    names = {
        m.id: m
        for m in Member.objects.filter(workspace=workspace, id__in=rows.keys()).only("name", "code", "affiliate_id")
    }
    result = []
    for r in rows.values():
        member = names.get(r["member_id"])
        if member is None:
            continue
        r["member"] = member
        r["bot_share"] = (
            (Decimal(r["bot_clicks"]) * 100 / r["clicks"]).quantize(Decimal("0.1")) if r["clicks"] else None
        )
        r["clicks_per_ip"] = (Decimal(r["counted"]) / r["ips"]).quantize(CENT) if r["ips"] else None
        r["outliers"] = r["fast"] + r["slow"]
        flags = []
        if r["bot_share"] is not None and r["bot_share"] > RISK_BOT_SHARE:
            flags.append("bots")
        if r["clicks_per_ip"] is not None and r["clicks_per_ip"] > RISK_CLICKS_PER_IP:
            flags.append("repeat IPs")
        if r["outliers"]:
            flags.append("timing")
        if r["without_click"]:
            flags.append("no click")
        if r["mismatches"]:
            flags.append("affiliate id")
        r["flags"] = flags
        result.append(r)
    key = sort.lstrip("-") if sort.lstrip("-") in RISK_SORTABLE else "bot_share"
    present = [r for r in result if r[key] is not None]
    missing = [r for r in result if r[key] is None]
    present.sort(key=lambda r: (r[key], -r["member_id"]), reverse=sort.startswith("-"))
    return present + sorted(missing, key=lambda r: r["member_id"])


RISK_SORTABLE = ("bot_share", "clicks", "clicks_per_ip", "outliers", "without_click", "mismatches", "conversions")


def postback_outcomes(workspace: Workspace, f: ReportFilters) -> dict:
    """Postback and pixel hits of the range by outcome (totals and per day)."""
    start, end = f.bounds()
    qs = PostbackLog.objects.filter(workspace=workspace, received_at__gte=start, received_at__lt=end)
    if f.connection is not None:
        qs = qs.filter(connection=f.connection)
    tz = timezone.get_default_timezone()
    totals = {o: 0 for o in PostbackLog.Outcome.values}
    per_day: dict[date, dict[str, int]] = {}
    reasons = {}
    for r in (
        qs.annotate(d=TruncDate("received_at", tzinfo=tz)).values("d", "outcome").annotate(n=Count("id")).order_by()
    ):
        totals[r["outcome"]] = totals.get(r["outcome"], 0) + r["n"]
        per_day.setdefault(r["d"], {})[r["outcome"]] = r["n"]
    for r in qs.exclude(reason="").values("outcome", "reason").annotate(n=Count("id")).order_by("-n", "reason")[:20]:
        reasons[(r["outcome"], r["reason"])] = r["n"]
    days = [f.start + timedelta(days=i) for i in range(f.days)]
    return {
        "totals": totals,
        "total": sum(totals.values()),
        "days": [{"day": d, **{o: per_day.get(d, {}).get(o, 0) for o in PostbackLog.Outcome.values}} for d in days],
        "reasons": [{"outcome": o, "reason": reason, "count": n} for (o, reason), n in reasons.items()],
    }


def network_click_model():
    """The Impact sync's daily click counts, when the networks app provides them."""
    try:
        return apps.get_model("networks", "NetworkClickCount")
    except LookupError:
        return None


# ---------------------------------------------------------------------------
# Rollup maintenance


def _day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_default_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def recompute_rollups(*, workspace_id: int, start: date, end: date) -> int:
    """Replace the rollup rows of days ``start``..``end`` (inclusive) of one workspace.

    1. Delete the days' rows.
    2. Aggregate the days' clicks by day, offer, member, project and connection.
    3. Aggregate the days' conversions by the same dimensions plus status and currency.
    4. Insert the groups.
    All in one transaction: readers see the old rows until the new ones are committed.
    """
    tz = timezone.get_default_timezone()
    lo, hi = _day_bounds(start, end)
    clicks = (
        Click.objects.filter(workspace_id=workspace_id, created_at__gte=lo, created_at__lt=hi)
        .exclude(member__is_test=True)
        .annotate(d=TruncDate("created_at", tzinfo=tz))
        .values("d", "offer_id", "member_id", "member__project_id", "offer__connection_id")
        .annotate(
            n=Count("id", filter=Q(is_bot=False)),
            unique=Count("id", filter=Q(is_bot=False, is_unique=True)),
            bots=Count("id", filter=Q(is_bot=True)),
            off=Count("id", filter=Q(is_bot=False) & ~Q(offer_state="active")),
        )
        .order_by()
    )
    conversions = (
        Conversion.objects.filter(workspace_id=workspace_id, event_at__gte=lo, event_at__lt=hi)
        .exclude(source="test")
        .exclude(member__is_test=True)
        .annotate(d=TruncDate("event_at", tzinfo=tz))
        .values("d", "offer_id", "member_id", "member__project_id", "connection_id", "status", "currency")
        .annotate(
            n=Count("id"),
            sales=Coalesce(Sum("sale_amount"), ZERO),
            np=Coalesce(Sum("network_payout"), ZERO),
            mp=Coalesce(Sum("member_payout"), ZERO),
        )
        .order_by()
    )
    groups: dict[tuple, list] = {}

    def add(key: tuple, values: tuple) -> None:
        # key: (day, offer, member, project, connection, status, currency); values: 4 counts + 4 sums
        for grain, k in (
            ("link", key),
            ("member", (key[0], None, key[2], key[3], None, key[5], key[6])),
            ("offer", (key[0], key[1], None, None, key[4], key[5], key[6])),
            ("total", (key[0], None, None, None, None, key[5], key[6])),
        ):
            current = groups.get((grain, *k))
            if current is None:
                groups[(grain, *k)] = list(values)
            else:
                for i, v in enumerate(values):
                    current[i] += v

    for r in clicks.iterator(chunk_size=5000):
        key = (r["d"], r["offer_id"], r["member_id"], r["member__project_id"], r["offer__connection_id"], "", "")
        add(key, (r["n"], r["unique"], r["bots"], r["off"], 0, ZERO, ZERO, ZERO))
    for r in conversions.iterator(chunk_size=5000):
        key = (
            r["d"],
            r["offer_id"],
            r["member_id"],
            r["member__project_id"],
            r["connection_id"],
            r["status"],
            r["currency"],
        )
        add(key, (0, 0, 0, 0, r["n"], r["sales"], r["np"], r["mp"]))
    rows = (
        DailyRollup(
            workspace_id=workspace_id,
            grain=grain,
            day=day,
            offer_id=offer_id,
            member_id=member_id,
            project_id=project_id,
            connection_id=connection_id,
            status=status,
            currency=currency,
            clicks=v[0],
            unique_clicks=v[1],
            bot_clicks=v[2],
            off_state_clicks=v[3],
            conversions=v[4],
            sales=v[5],
            network_payout=v[6],
            member_payout=v[7],
        )
        for (grain, day, offer_id, member_id, project_id, connection_id, status, currency), v in groups.items()
    )
    with transaction.atomic():
        DailyRollup.objects.filter(workspace_id=workspace_id, day__gte=start, day__lte=end).delete()
        DailyRollup.objects.bulk_create(rows, batch_size=2000)
    return len(groups)


def rebuild_rollups(*, workspace: Workspace, since: date | None = None, window_days: int = 7) -> tuple[int, int]:
    """Rebuild a workspace's rollups from ``since`` (default: its first activity) to today.

    Works in windows of a few days so that no transaction holds a long stretch
    of history. Returns (days, rows written).
    """
    tz = timezone.get_default_timezone()
    today = timezone.localdate()
    if since is None:
        firsts = [
            Click.objects.filter(workspace=workspace)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first(),
            Conversion.objects.filter(workspace=workspace)
            .order_by("event_at")
            .values_list("event_at", flat=True)
            .first(),
            DailyRollup.objects.filter(workspace=workspace).order_by("day").values_list("day", flat=True).first(),
        ]
        days = [v.astimezone(tz).date() if isinstance(v, datetime) else v for v in firsts if v is not None]
        if not days:
            return 0, 0
        since = min(days)
    last = max(today, since)
    # Rows dated after today (clock skew, imported future dates) are rebuilt too.
    future = DailyRollup.objects.filter(workspace=workspace, day__gt=today).aggregate(m=Max("day"))["m"]
    future_conv = Conversion.objects.filter(workspace=workspace, event_at__gte=_day_bounds(today, today)[1]).aggregate(
        m=Max("event_at")
    )["m"]
    for v in (future, future_conv.astimezone(tz).date() if future_conv else None):
        if v is not None and v > last:
            last = v
    written = 0
    day = since
    while day <= last:
        end = min(day + timedelta(days=window_days - 1), last)
        written += recompute_rollups(workspace_id=workspace.id, start=day, end=end)
        day = end + timedelta(days=1)
    return (last - since).days + 1, written


# How far below each watermark a refresh looks again: ids are handed out before
# their transactions commit, so a row with a lower id can appear after a higher one.
ID_OVERLAP = 5000
TIME_OVERLAP = timedelta(minutes=5)


def refresh_rollups_all_workspaces(*, budget_seconds: float = 200) -> int:
    """The beat task's work: mark the days touched since the last run, then recompute
    marked days until the time budget is spent (the rest waits for the next run).
    Returns the number of days recomputed."""
    mark_dirty_days_all_workspaces()
    return recompute_dirty_days_all_workspaces(budget_seconds=budget_seconds)


def _latest_marks() -> dict:
    return {
        "click_id": Click.objects.aggregate(m=Max("id"))["m"] or 0,
        "event_id": ConversionEvent.objects.aggregate(m=Max("id"))["m"] or 0,
        "change_id": ConversionChange.objects.aggregate(m=Max("id"))["m"] or 0,
        "conversion_updated_at": Conversion.objects.aggregate(m=Max("updated_at"))["m"],
    }


def _advance(mark: RollupWatermark, latest: dict) -> None:
    mark.click_id = max(mark.click_id, latest["click_id"])
    mark.event_id = max(mark.event_id, latest["event_id"])
    mark.change_id = max(mark.change_id, latest["change_id"])
    newest = latest["conversion_updated_at"]
    if newest is not None and (mark.conversion_updated_at is None or newest > mark.conversion_updated_at):
        mark.conversion_updated_at = newest
    mark.refreshed_at = timezone.now()
    mark.save()


def mark_dirty_days_all_workspaces() -> int:
    """Mark the (workspace, day) pairs touched since the watermark and advance it.

    A day is touched by a new click, a conversion saved since the last run
    (``updated_at``), a new conversion event (status and amount changes) or a new
    conversion change (which also names the old day when ``event_at`` moved). The
    watermark row is locked, so two runs never interleave. Returns the pairs marked.
    """
    tz = timezone.get_default_timezone()
    with transaction.atomic():
        RollupWatermark.objects.get_or_create(pk=1)
        mark = RollupWatermark.objects.select_for_update().get(pk=1)
        latest = _latest_marks()
        touched: set[tuple[int, date]] = set()
        if latest["click_id"] > mark.click_id:
            touched |= _days(Click.objects.filter(id__gt=max(mark.click_id - ID_OVERLAP, 0)), "created_at", tz)
        if latest["event_id"] > mark.event_id:
            ids = ConversionEvent.objects.filter(id__gt=max(mark.event_id - ID_OVERLAP, 0)).values("conversion_id")
            touched |= _days(Conversion.objects.filter(id__in=ids), "event_at", tz)
        if latest["change_id"] > mark.change_id:
            changes = ConversionChange.objects.filter(id__gt=max(mark.change_id - ID_OVERLAP, 0))
            touched |= _days(Conversion.objects.filter(id__in=changes.values("conversion_id")), "event_at", tz)
            for workspace_id, diff in changes.exclude(changes={}).values_list("workspace_id", "changes").iterator():
                touched |= _moved_days(workspace_id, diff, tz)
        newest = latest["conversion_updated_at"]
        if newest is not None and (mark.conversion_updated_at is None or newest > mark.conversion_updated_at):
            qs = Conversion.objects.all()
            if mark.conversion_updated_at is not None:
                qs = qs.filter(updated_at__gte=mark.conversion_updated_at - TIME_OVERLAP)
            touched |= _days(qs, "event_at", tz)
        now = timezone.now()
        # Marking again bumps marked_at, so a recompute already running will not clear the day.
        RollupDirtyDay.objects.bulk_create(
            [RollupDirtyDay(workspace_id=w, day=d, marked_at=now) for w, d in touched],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["workspace", "day"],
            update_fields=["marked_at"],
        )
        _advance(mark, latest)
    return len(touched)


def recompute_dirty_days_all_workspaces(*, budget_seconds: float = 200) -> int:
    """Recompute marked days, one per transaction, oldest first, until none is left or
    the budget is spent. Concurrent workers skip each other's locked days."""
    deadline = monotonic() + budget_seconds
    done = 0
    while monotonic() < deadline:
        with transaction.atomic():
            dirty = RollupDirtyDay.objects.select_for_update(skip_locked=True).order_by("day", "id").first()
            if dirty is None:
                break
            recompute_rollups(workspace_id=dirty.workspace_id, start=dirty.day, end=dirty.day)
            RollupDirtyDay.objects.filter(pk=dirty.pk, marked_at=dirty.marked_at).delete()
        done += 1
    return done


def rebuild_rollups_all_workspaces() -> tuple[int, int, int]:
    """Rebuild every workspace's history; afterwards the refresh starts from here.

    The watermark is taken before the rebuild starts, so rows that arrive meanwhile
    are still picked up by the next refresh. Returns (workspaces, days, rows).
    """
    latest = _latest_marks()
    count = days = rows = 0
    for workspace in Workspace.objects.order_by("id").iterator():
        d, r = rebuild_rollups(workspace=workspace)
        count, days, rows = count + 1, days + d, rows + r
    with transaction.atomic():
        RollupWatermark.objects.get_or_create(pk=1)
        _advance(RollupWatermark.objects.select_for_update().get(pk=1), latest)
    return count, days, rows


def _days(qs, field: str, tz) -> set[tuple[int, date]]:
    rows = qs.annotate(d=TruncDate(field, tzinfo=tz)).values_list("workspace_id", "d").distinct().order_by()
    return set(rows)


def _moved_days(workspace_id: int, diff: dict, tz) -> set[tuple[int, date]]:
    """Days named by an ``event_at`` change ([old, new] ISO strings)."""
    found = set()
    values = diff.get("event_at") if isinstance(diff, dict) else None
    if not isinstance(values, list | tuple):
        return found
    for value in values:
        try:
            when = datetime.fromisoformat(str(value))
        except ValueError:
            continue
        if timezone.is_naive(when):
            when = timezone.make_aware(when, tz)
        found.add((workspace_id, when.astimezone(tz).date()))
    return found


def rebuild_recent_rollups_all_workspaces(days: int = 3) -> int:
    """Safety net: rebuild the last few days everywhere (catches anything the refresh missed)."""
    since = timezone.localdate() - timedelta(days=days - 1)
    count = 0
    for workspace in Workspace.objects.all().iterator():
        rebuild_rollups(workspace=workspace, since=since)
        count += 1
    return count


def network_clicks_vs_ours(workspace: Workspace, f: ReportFilters) -> list[dict]:
    """Per day and connection: our counted clicks beside the clicks the network reported."""
    model = network_click_model()
    if model is None:
        return []
    theirs = model.objects.filter(workspace=workspace, date__gte=f.start, date__lte=f.end)
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
        mine, their = ours.get((day, connection_id), 0), network.get((day, connection_id), 0)
        diff = change(mine, their)
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
