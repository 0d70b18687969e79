"""Members' own postback URLs: what the brand's member page and the member portal call.

Every function takes the member (resolved by the caller from the workspace, or from the
signed-in member in the portal) and only ever touches that member's rows: a postback or
delivery of another member is "not found" (``Http404``), as another workspace's would be.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from offers.models import Member
from outbound.lib import fill_macros, unknown_macros
from outbound.models import Delivery, MemberPostback
from outbound.services.delivery import disable_target, resend_delivery
from outbound.services.webhooks import check_url, enable_target
from workspaces.errors import DomainError

MAX_PER_MEMBER = 5
SAMPLE_VALUES = {
    "transaction_id": "test0000000000000000000000000000",
    "sub1": "test",
    "payout": "1.23",
    "status": "pending",
    "conversion_id": "00000000-0000-0000-0000-000000000000",
    "offer_id": "00000000-0000-0000-0000-000000000000",
}


def _check(url: str) -> None:
    unknown = unknown_macros(url)
    if unknown:
        raise DomainError("Unknown macros: " + ", ".join("{" + m + "}" for m in unknown) + ".")
    check_url(url)


def get_member_postback(*, member: Member, code) -> MemberPostback:
    try:
        return MemberPostback.objects.get(workspace_id=member.workspace_id, member=member, code=code)
    except (MemberPostback.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found") from None


def get_member_delivery(*, member: Member, code) -> Delivery:
    try:
        return Delivery.objects.select_related("postback").get(
            workspace_id=member.workspace_id, postback__member=member, code=code
        )
    except (Delivery.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found") from None


def add_member_postback(*, member: Member, url: str) -> MemberPostback:
    """A new postback URL for ``member``; https, public, and only the known macros."""
    _check(url)
    if MemberPostback.objects.filter(member=member).count() >= MAX_PER_MEMBER:
        raise DomainError(f"A member can have {MAX_PER_MEMBER} postback URLs; remove one first.")
    return MemberPostback.objects.create(workspace_id=member.workspace_id, member=member, url=url)


def update_member_postback(*, member: Member, code, url: str) -> MemberPostback:
    postback = get_member_postback(member=member, code=code)
    _check(url)
    postback.url = url
    postback.save(update_fields=["url", "updated_at"])
    return postback


def remove_member_postback(*, member: Member, code) -> None:
    get_member_postback(member=member, code=code).delete()


def set_member_postback_enabled(*, member: Member, code, enabled: bool, actor: str = "") -> MemberPostback:
    postback = get_member_postback(member=member, code=code)
    if enabled:
        enable_target(target=postback)
    else:
        disable_target(target=postback, reason=f"Turned off by {actor or 'the brand'}.", notify=False)
    return postback


def list_member_deliveries(*, member: Member, status: str = ""):
    """The member's postback deliveries, newest first."""
    qs = Delivery.objects.filter(workspace_id=member.workspace_id, postback__member=member)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("postback").order_by("-id")


def replay_member_delivery(*, member: Member, code) -> Delivery:
    """Send one of the member's deliveries again (after what is already queued for that URL)."""
    return resend_delivery(delivery=get_member_delivery(member=member, code=code))


def send_test_postback(*, member: Member, code) -> Delivery:
    """Call the postback URL once with sample values, so the member can see it arrive."""
    from outbound.tasks import deliver as deliver_task

    postback = get_member_postback(member=member, code=code)
    if not postback.is_active:
        raise DomainError("This postback is turned off; turn it on to send a test.")
    delivery = Delivery.objects.create(
        workspace_id=member.workspace_id,
        postback=postback,
        topic="postback.test",
        msg_id=f"msg_{uuid.uuid4().hex}",
        url=fill_macros(postback.url, SAMPLE_VALUES),
        created_at=timezone.now(),
    )
    transaction.on_commit(lambda: deliver_task.delay("postback", postback.pk))
    return delivery
