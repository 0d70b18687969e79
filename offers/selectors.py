"""Reads for the offers, members and links pages. Every query starts from a workspace."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from offers.models import Link, Member, NetworkConnection, Offer, PayoutOverride, Project
from tracking.models import Click, Conversion, ConversionStatus
from workspaces.models import Workspace


def list_projects(*, workspace: Workspace, q: str = "", archived: bool = False) -> QuerySet[Project]:
    qs = Project.objects.filter(workspace=workspace, archived_at__isnull=not archived)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(description__icontains=q))
    return qs.annotate(member_count=Count("members", filter=Q(members__status=Member.Status.ACTIVE))).order_by("name")


def list_members(
    *, workspace: Workspace, q: str = "", project: Project | None = None, status: str = "", test: str = ""
) -> QuerySet[Member]:
    qs = Member.objects.filter(workspace=workspace).select_related("project")
    if q:
        qs = qs.filter(
            Q(name__icontains=q) | Q(email__icontains=q) | Q(handle__icontains=q) | Q(affiliate_id__iexact=q)
        )
    if project is not None:
        qs = qs.filter(project=project)
    qs = qs.filter(status=status or Member.Status.ACTIVE) if status != "all" else qs
    if test == "yes":
        qs = qs.filter(is_test=True)
    elif test == "no":
        qs = qs.filter(is_test=False)
    return qs.order_by("name", "id")


def list_connections(*, workspace: Workspace) -> QuerySet[NetworkConnection]:
    return NetworkConnection.objects.filter(workspace=workspace).order_by("label")


def offer_state_q(state: str, now=None) -> Q:
    """The filter matching ``Offer.state_at(now) == state`` (same precedence: paused, expired, scheduled)."""
    now = now or timezone.now()
    not_expired = Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    started = Q(starts_at__isnull=True) | Q(starts_at__lte=now)
    return {
        Offer.State.PAUSED: Q(paused=True),
        Offer.State.EXPIRED: Q(paused=False, ends_at__lte=now),
        Offer.State.SCHEDULED: Q(paused=False, starts_at__gt=now) & not_expired,
        Offer.State.ACTIVE: Q(paused=False) & started & not_expired,
    }[state]


def list_offers(*, workspace: Workspace, q: str = "", state: str = "") -> QuerySet[Offer]:
    """Offers, newest first; ``state`` is active/paused/scheduled/expired, or archived."""
    qs = Offer.objects.filter(workspace=workspace).select_related("connection")
    qs = qs.filter(archived_at__isnull=state != "archived")
    if state in Offer.State.values:
        qs = qs.filter(offer_state_q(state))
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.annotate(link_count=Count("links", filter=Q(links__archived_at=None))).order_by("-created_at", "-id")


def list_links(
    *, workspace: Workspace, offer: Offer | None = None, member: Member | None = None, q: str = "", archived=False
) -> QuerySet[Link]:
    qs = Link.objects.filter(workspace=workspace, archived_at__isnull=not archived).select_related("offer", "member")
    if offer is not None:
        qs = qs.filter(offer=offer)
    if member is not None:
        qs = qs.filter(member=member)
    if q:
        qs = qs.filter(
            Q(code=q)
            | Q(vanity__icontains=q)
            | Q(member__name__icontains=q)
            | Q(offer__name__icontains=q)
            | Q(destination_url__icontains=q)
        )
    return qs.order_by("-created_at", "-id")


def list_overrides(*, offer: Offer) -> QuerySet[PayoutOverride]:
    return PayoutOverride.objects.filter(workspace=offer.workspace, offer=offer).select_related("member")


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
