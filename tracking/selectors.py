"""Reads for the conversions and postback log pages, and the clicks and earnings of the offer and member pages.

Every query starts from the workspace (or from an offer or member of it)."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from offers.models import Member, Offer
from tracking.models import Click, Conversion, ConversionSource, ConversionStatus, PostbackLog, RetentionHorizon


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def list_conversions(*, workspace, filters: dict | None = None) -> QuerySet[Conversion]:
    """A workspace's conversions, newest first, narrowed by the cleaned filter form values."""
    f = filters or {}
    qs = Conversion.objects.filter(workspace=workspace).select_related("member", "offer", "connection")
    if f.get("date_from"):
        qs = qs.filter(event_at__gte=_day_start(f["date_from"]))
    if f.get("date_to"):
        qs = qs.filter(event_at__lt=_day_start(f["date_to"] + timedelta(days=1)))
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("member"):
        qs = qs.filter(member=f["member"])
    if f.get("offer"):
        qs = qs.filter(offer=f["offer"])
    if f.get("network"):
        qs = qs.filter(network=f["network"])
    if f.get("source"):
        qs = qs.filter(source=f["source"])
    if f.get("attribution") == "unattributed":
        qs = qs.filter(member__isnull=True)
    elif f.get("attribution") == "mismatch":
        qs = qs.filter(affiliate_mismatch=True)
    if f.get("q"):
        q = f["q"].strip()
        qs = qs.filter(Q(transaction_id=q) | Q(external_id=q))
    return qs.order_by("-event_at", "-id")


# What totals count unless a status is picked: the dashboard's definition (reversed, rejected and
# test conversions earn nothing, so they are left out of the figures; the list still shows them).
COUNTED_STATUSES = (ConversionStatus.PENDING, ConversionStatus.APPROVED)


def conversion_totals(qs: QuerySet[Conversion], *, status: str = "") -> list[dict]:
    """Count and sums per currency (amounts of different currencies are never added up).

    Without a status filter, only what the dashboard counts: pending and approved, test
    conversions left out.
    """
    if not status:
        qs = qs.filter(status__in=COUNTED_STATUSES).exclude(source=ConversionSource.TEST)
    return list(
        qs.order_by()
        .values("currency")
        .annotate(
            n=Count("id"),
            sales=Sum("sale_amount"),
            network_payout=Sum("network_payout"),
            member_payout=Sum("member_payout"),
        )
        .order_by("currency")
    )


def list_postbacks(*, workspace, filters: dict | None = None) -> QuerySet[PostbackLog]:
    f = filters or {}
    qs = PostbackLog.objects.filter(workspace=workspace).select_related("conversion", "connection")
    if f.get("outcome"):
        qs = qs.filter(outcome=f["outcome"])
    if f.get("network"):
        qs = qs.filter(network=f["network"])
    if f.get("kind") == "pixel":
        qs = qs.filter(is_pixel=True)
    elif f.get("kind") == "postback":
        qs = qs.filter(is_pixel=False)
    elif f.get("kind") == "test":
        qs = qs.filter(is_test=True)
    return qs.order_by("-received_at", "-id")


def postback_outcome_counts(*, workspace) -> dict[str, int]:
    rows = PostbackLog.objects.filter(workspace=workspace).values("outcome").annotate(n=Count("id")).order_by()
    return {row["outcome"]: row["n"] for row in rows}


def conversion_history(conversion: Conversion):
    """(postbacks, changes) of one conversion, oldest first."""
    postbacks = list(conversion.postbacks.order_by("received_at", "id"))
    changes = list(conversion.changes.select_related("postback").order_by("created_at", "id"))
    return postbacks, changes


def conversions_by_day(qs: QuerySet[Conversion], *, days: int = 30) -> list[tuple]:
    """(day, count) for the last ``days`` days of ``qs``, days without conversions included as 0."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = (
        qs.filter(event_at__gte=_day_start(start))
        .order_by()
        .annotate(day=TruncDate("event_at"))
        .values("day")
        .annotate(n=Count("id"))
    )
    counts = {row["day"]: row["n"] for row in rows}
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)]


def clicks_per_day(*, offer: Offer | None = None, member: Member | None = None, days: int = 30) -> dict:
    """Counted (non-bot) and unique clicks per day over the last ``days`` days, zero-filled."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    # A datetime bound (not __date) so the (offer|member, created_at) index serves the range.
    since = timezone.make_aware(datetime.combine(first, time.min))
    qs = Click.objects.filter(created_at__gte=since, is_bot=False)
    qs = qs.filter(offer=offer) if offer is not None else qs.filter(member=member)
    rows = (
        qs.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"), unique=Count("id", filter=Q(is_unique=True)))
    )
    by_day = {r["day"]: r for r in rows}
    labels, counts, uniques = [], [], []
    for i in range(days):
        day = first + timedelta(days=i)
        labels.append(day.isoformat())
        counts.append(by_day.get(day, {}).get("n", 0))
        uniques.append(by_day.get(day, {}).get("unique", 0))
    return {"labels": labels, "clicks": counts, "unique": uniques, "total": sum(counts), "unique_total": sum(uniques)}


def clicks_chart(series: dict) -> dict:
    """A Chart.js config for ``clicks_per_day`` output (drawn by static/app/app.js)."""
    return {
        "type": "bar",
        "data": {
            "labels": series["labels"],
            "datasets": [
                {"label": "Clicks", "data": series["clicks"], "backgroundColor": "#4a7bd0"},
                {"label": "Unique clicks", "data": series["unique"], "backgroundColor": "#9cc3a5"},
            ],
        },
        "options": {"scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0}}}},
    }


def recent_clicks(*, member: Member, limit: int = 10) -> QuerySet[Click]:
    return Click.objects.filter(member=member).select_related("offer", "link").order_by("-created_at")[:limit]


@dataclass
class EarningsRow:
    currency: str
    status: str
    conversions: int
    sales: Decimal
    payout: Decimal


def member_earnings(*, member: Member) -> list[EarningsRow]:
    """Conversions and member payout by currency and status (read-only summary)."""
    rows = (
        Conversion.objects.filter(workspace=member.workspace, member=member)
        .values("currency", "status")
        .annotate(n=Count("id"), sales=Sum("sale_amount"), payout=Sum("member_payout"))
        .order_by("currency", "status")
    )
    order = {s: i for i, s in enumerate(ConversionStatus.values)}
    result = [
        EarningsRow(r["currency"], r["status"], r["n"], r["sales"] or Decimal(0), r["payout"] or Decimal(0))
        for r in rows
    ]
    return sorted(result, key=lambda r: (r.currency, order.get(r.status, 99)))


def clicks_pruned_before() -> datetime | None:
    """Clicks before this instant were pruned (converted ones excepted); None if none ever were."""
    return RetentionHorizon.objects.filter(table=Click._meta.db_table).values_list("pruned_before", flat=True).first()


def postback_log_cutoff(*, days: int | None = None, now: datetime | None = None) -> datetime | None:
    """Postback log rows before this instant are past POSTBACK_LOG_RETENTION_DAYS (or ``days``);
    None when the log is kept forever."""
    days = settings.POSTBACK_LOG_RETENTION_DAYS if days is None else days
    return None if days <= 0 else (now or timezone.now()) - timedelta(days=days)


def pruned_before(rows: str) -> datetime | None:
    """Raw ``rows`` ("clicks" or "postbacks") before this instant were pruned, or go at the next
    daily prune; None when none are (tracking/services/retention.py)."""
    return clicks_pruned_before() if rows == "clicks" else postback_log_cutoff()
