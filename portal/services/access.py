"""Portal access: inviting members, one-time sign-in links and redeeming them."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from offers.models import Member
from portal.models import (
    INVITATION_LINK_LIFETIME,
    SIGN_IN_LINK_LIFETIME,
    Person,
    PortalAccess,
    SignInLink,
    hash_token,
    new_token,
)
from workspaces.emails import send_templated
from workspaces.errors import DomainError

# Sign-in emails one address may ask for in SIGN_IN_REQUEST_WINDOW seconds.
SIGN_IN_REQUESTS_PER_WINDOW = 5
SIGN_IN_REQUEST_WINDOW = 15 * 60


def invite_problem(member: Member) -> str:
    """Why ``member`` cannot be invited, or ""."""
    if member.status != Member.Status.ACTIVE:
        return f"{member.name} is archived."
    if not member.email:
        return f"{member.name} has no email address: add one first."
    return ""


@transaction.atomic
def invite_member(*, member: Member, invited_by=None) -> PortalAccess:
    """Give ``member`` a portal login (or renew it) and email them a sign-in link once this commits.

    The login belongs to the person with the member's email address; a person already
    signed up with another brand gets this brand added to their switcher.
    """
    problem = invite_problem(member)
    if problem:
        raise DomainError(problem)
    person, _ = Person.objects.get_or_create(email=member.email.strip().lower())
    access, created = PortalAccess.objects.get_or_create(
        member=member,
        defaults={"workspace_id": member.workspace_id, "person": person, "invited_by": invited_by},
    )
    if not created:
        # The member's email may have changed since: the login follows the address on file.
        access.person, access.invited_by, access.invited_at = person, invited_by, timezone.now()
        access.save(update_fields=["person", "invited_by", "invited_at", "updated_at"])
    _queue_link_email(access_ids=[access.pk], purpose=SignInLink.Purpose.INVITATION)
    return access


def invite_members(*, members, invited_by=None) -> tuple[list[PortalAccess], list[str]]:
    """Invite each member who can be; returns (invited, one problem line per member left out)."""
    invited, problems = [], []
    for member in members:
        problem = invite_problem(member)
        if problem:
            problems.append(problem)
            continue
        invited.append(invite_member(member=member, invited_by=invited_by))
    return invited, problems


def _queue_link_email(*, access_ids: list[int], purpose: str) -> None:
    from portal.tasks import send_sign_in_email as send_sign_in_email_task

    transaction.on_commit(lambda: send_sign_in_email_task.delay(access_ids, purpose))


def issue_sign_in_link(*, access: PortalAccess, purpose: str) -> str:
    """A new one-time link for ``access``; returns its URL (the token is never stored)."""
    token = new_token()
    lifetime = INVITATION_LINK_LIFETIME if purpose == SignInLink.Purpose.INVITATION else SIGN_IN_LINK_LIFETIME
    SignInLink.objects.create(
        workspace_id=access.workspace_id,
        access=access,
        purpose=purpose,
        token_hash=hash_token(token),
        expires_at=timezone.now() + lifetime,
    )
    return settings.SITE_URL + reverse("portal:redeem", args=[access.workspace.slug, token])


def send_sign_in_email(*, access_ids: list[int], purpose: str) -> int:
    """Email the person of these accesses one fresh link per brand. Returns how many links were sent."""
    accesses = list(
        PortalAccess.objects.filter(pk__in=access_ids, member__status=Member.Status.ACTIVE)
        .select_related("person", "workspace", "member", "invited_by")
        .order_by("workspace__name")
    )
    if not accesses:
        return 0
    person = accesses[0].person
    links = [
        {"access": a, "url": issue_sign_in_link(access=a, purpose=purpose)} for a in accesses if a.person == person
    ]
    template = "portal-invitation" if purpose == SignInLink.Purpose.INVITATION else "portal-sign-in"
    lifetime = INVITATION_LINK_LIFETIME if purpose == SignInLink.Purpose.INVITATION else SIGN_IN_LINK_LIFETIME
    send_templated(
        template,
        [person.email],
        {"links": links, "person": person, "lifetime": _duration(lifetime.total_seconds())},
    )
    return len(links)


def request_sign_in(*, email: str) -> None:
    """Email a sign-in link for every brand ``email`` is a member of (nothing, silently, if none).

    The answer is the same either way, so the form reveals no addresses; a few requests per
    address per quarter hour are sent, the rest dropped.
    """
    email = email.strip().lower()
    key = f"portal:sign-in-requests:{hash_token(email)}"
    cache.add(key, 0, SIGN_IN_REQUEST_WINDOW)
    if cache.incr(key) > SIGN_IN_REQUESTS_PER_WINDOW:
        return
    ids = list(
        PortalAccess.objects.filter(person__email=email, member__status=Member.Status.ACTIVE).values_list(
            "pk", flat=True
        )
    )
    if ids:
        _queue_link_email(access_ids=ids, purpose=SignInLink.Purpose.SIGN_IN)


def find_sign_in_link(*, workspace_slug: str, token: str) -> SignInLink:
    """The usable link for ``token`` in the workspace the URL names, or DomainError saying why not."""
    link = (
        SignInLink.objects.select_related("access__person", "access__member", "workspace")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None or link.workspace.slug != workspace_slug:
        # A link of another brand's portal is as unknown as a made-up one.
        raise DomainError("This sign-in link is not valid. Ask for a new one below.")
    if link.used_at is not None:
        raise DomainError("This sign-in link was already used: each link works once. Ask for a new one below.")
    if link.expires_at <= timezone.now():
        raise DomainError("This sign-in link has expired. Ask for a new one below.")
    if link.access.member.status != Member.Status.ACTIVE:
        raise DomainError("Your membership of this brand is archived; contact the brand.")
    return link


def redeem_sign_in_link(*, workspace_slug: str, token: str) -> PortalAccess:
    """Use the link once: a concurrent second use finds it taken and is refused."""
    link = find_sign_in_link(workspace_slug=workspace_slug, token=token)
    claimed = SignInLink.objects.filter(pk=link.pk, used_at=None).update(used_at=timezone.now())
    if claimed != 1:
        raise DomainError("This sign-in link was already used: each link works once. Ask for a new one below.")
    return link.access


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes >= 24 * 60:
        return f"{minutes // (24 * 60)} days"
    return f"{minutes} minutes"
