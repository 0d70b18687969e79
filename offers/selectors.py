"""Reads for the offers, members and links pages. Every query starts from a workspace."""

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from offers.models import Link, Member, NetworkConnection, Offer, PayoutOverride, Project
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
