"""Emails to members when a conversion of theirs is approved or a payment is sent to them.

Two outbox readers (``workspaces.outbox.consume``) turn new rows into ``Notification`` rows in
the same transaction as their cursor moves, so each change notifies once; the sender then
claims each unsent notification with a conditional update before emailing it. A member who
turned a kind off in the portal's settings gets no row for it.
"""

from django.conf import settings
from django.utils import timezone

from portal.models import Notification, PortalAccess
from tracking.models import Conversion, ConversionEvent
from workspaces.emails import send_templated
from workspaces.models import Event
from workspaces.outbox import consume


def _approved_now(event: ConversionEvent) -> bool:
    after, before = event.after or {}, event.before or {}
    return (
        after.get("status") == "approved"
        and before.get("status") != "approved"
        and bool(after.get("member_id"))
        and after.get("source") != "test"
    )


def _accesses(member_ids, flag: str) -> dict[int, PortalAccess]:
    rows = PortalAccess.objects.filter(member_id__in=set(member_ids), **{flag: True})
    return {a.member_id: a for a in rows}


def note_approved_conversions(events) -> None:
    approved = [e for e in events if _approved_now(e)]
    accesses = _accesses((e.after["member_id"] for e in approved), "notify_conversion_approved")
    Notification.objects.bulk_create(
        [
            Notification(
                workspace_id=e.workspace_id,
                access=accesses[e.after["member_id"]],
                kind=Notification.Kind.CONVERSION_APPROVED,
                key=f"convevent:{e.pk}",
                data={
                    "conversion_id": e.conversion_id,
                    "payout": e.after["member_payout"],
                    "currency": e.after["currency"],
                },
            )
            for e in approved
            if e.after["member_id"] in accesses
        ],
        ignore_conflicts=True,
    )


def note_sent_payments(events) -> None:
    """``payment.sent`` events (payments' ``announce_payment``) name the member by code."""
    sent = [e for e in events if e.topic == "payment.sent" and (e.data.get("member") or {}).get("id")]
    codes = {e.data["member"]["id"] for e in sent}
    accesses = {
        str(a.member.code): a
        for a in PortalAccess.objects.filter(member__code__in=codes, notify_payment_sent=True).select_related("member")
    }
    Notification.objects.bulk_create(
        [
            Notification(
                workspace_id=e.workspace_id,
                access=accesses[e.data["member"]["id"]],
                kind=Notification.Kind.PAYMENT_SENT,
                key=f"event:{e.pk}",
                data={"amount": e.data["amount"], "currency": e.data["currency"]},
            )
            for e in sent
            if e.data["member"]["id"] in accesses and accesses[e.data["member"]["id"]].workspace_id == e.workspace_id
        ],
        ignore_conflicts=True,
    )


def collect_notifications_all_workspaces(*, limit: int = 500) -> int:
    """Read new conversion events and workspace events into notifications; returns rows read."""
    return consume(
        "portal-notifications:conversions", ConversionEvent, note_approved_conversions, limit=limit
    ) + consume("portal-notifications:events", Event, note_sent_payments, limit=limit)


def send_notifications_all_workspaces(*, limit: int = 200) -> int:
    """Email unsent notifications; each is claimed first so a task run twice sends it once."""
    sent = 0
    for pk in Notification.objects.filter(sent_at=None).order_by("id").values_list("pk", flat=True)[:limit]:
        if Notification.objects.filter(pk=pk, sent_at=None).update(sent_at=timezone.now()) != 1:
            continue
        note = Notification.objects.select_related("access__person", "access__member", "workspace").get(pk=pk)
        ctx = {
            "note": note,
            "member": note.access.member,
            "workspace": note.workspace,
            "site_url": settings.SITE_URL,
            **note.data,
        }
        if note.kind == Notification.Kind.CONVERSION_APPROVED:
            ctx["conversion"] = Conversion.objects.filter(pk=note.data["conversion_id"]).select_related("offer").first()
        send_templated(f"portal-{note.kind.replace('_', '-')}", [note.access.person.email], ctx)
        sent += 1
    return sent
