"""Reports over raw rows: the risk report, the dashboard's latest conversions and the
postback outcomes. Each is bounded by the date range and served by the
``(workspace, created_at)``, ``(workspace, event_at)`` and ``(workspace, received_at)`` indexes.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from offers.models import Member
from payments.models import Hold
from reports.filters import ReportFilters
from tracking.models import Click, Conversion, PostbackLog
from workspaces.models import Workspace

CENT = Decimal("0.01")

# Risk thresholds: a conversion within FAST_CONVERSION of its click, or more than
# SLOW_CONVERSION after it, is an outlier; a member is flagged for review above
# these shares and ratios.
FAST_CONVERSION = timedelta(seconds=30)
SLOW_CONVERSION = timedelta(days=30)
RISK_BOT_SHARE = Decimal("20")
RISK_CLICKS_PER_IP = Decimal("5")
RISK_SORTABLE = (
    "bot_share",
    "clicks",
    "clicks_per_ip",
    "outliers",
    "without_click",
    "mismatches",
    "conversions",
    "held",
)


def recent_conversions(workspace: Workspace, f: ReportFilters, limit: int = 10):
    start, end = f.bounds()
    qs = Conversion.objects.filter(workspace=workspace, event_at__gte=start, event_at__lt=end)
    qs = _raw_dimensions(qs.exclude(source="test").exclude(member__is_test=True), f, connection_field="connection")
    return qs.select_related("member", "offer").order_by("-event_at", "-id")[:limit]


def _raw_dimensions(qs, f: ReportFilters, *, connection_field: str):
    # Raw rows know the project through their member.
    return qs.filter(**f.lookups(project="member__project", connection=connection_field))


def risk_by_member(workspace: Workspace, f: ReportFilters, sort: str = "-bot_share") -> list[dict]:
    """Per member: bot share, clicks per hashed IP, click-to-conversion outliers,
    conversions without a click, affiliate id mismatches, and conversions on hold for review.

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
            held=Count(
                "id",
                filter=Q(id__in=Hold.objects.filter(workspace=workspace, released_at=None).values("conversion_id")),
            ),
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
                "held": 0,
            },
        )

    for r in click_rows.order_by():
        row(r["member_id"]).update(clicks=r["total"], bot_clicks=r["bots"], counted=r["counted"], ips=r["ips"])
    for r in conv_rows.order_by():
        keys = ("conversions", "without_click", "fast", "slow", "mismatches", "held")
        row(r["member_id"]).update({k: r[k] for k in keys})
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
        if r["held"]:
            flags.append("on hold")
        r["flags"] = flags
        result.append(r)
    key = sort.lstrip("-") if sort.lstrip("-") in RISK_SORTABLE else "bot_share"
    present = [r for r in result if r[key] is not None]
    missing = [r for r in result if r[key] is None]
    present.sort(key=lambda r: (r[key], -r["member_id"]), reverse=sort.startswith("-"))
    return present + sorted(missing, key=lambda r: r["member_id"])


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
