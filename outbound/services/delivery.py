"""The delivery engine shared by webhooks and member postbacks.

For one target at a time (an endpoint or a member postback):
1. claim the target with a lease (a conditional update), so only one worker sends to it and
   its deliveries leave in id order;
2. take the oldest pending delivery; if its retry time has not come, stop and wake up then
   (a later delivery never overtakes an earlier one);
3. check the URL again (https, and every address its host resolves to is public), send it
   with a timeout, and log the attempt (status, time, an excerpt of the answer);
4. a 2xx answer delivers it and moves on to the next; anything else schedules a retry with
   backoff and jitter (outbound.lib.RETRY_DELAYS, about a day in all). When the last retry
   fails, the delivery is failed, the target disabled and the workspace owners emailed.
"""

import logging
import time
from datetime import timedelta

import httpx
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from outbound.lib import MAX_ATTEMPTS, UnsafeTarget, excerpt, retry_delay, signature_header
from outbound.models import Attempt, Delivery, MemberPostback, Target, TargetStatus, WebhookEndpoint
from outbound.transport import check_target, guarded_client
from workspaces.emails import send_templated
from workspaces.models import Role

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=150)
# One run sends for at most this long, then hands the rest to a fresh task.
RUN_SECONDS = 60
TARGETS = {"endpoint": WebhookEndpoint, "postback": MemberPostback}


def kind_of(target: Target) -> str:
    return "endpoint" if isinstance(target, WebhookEndpoint) else "postback"


def deliver_target(*, kind: str, target_id: int, client: httpx.Client | None = None) -> int:
    """Send the target's pending deliveries in order; returns how many were delivered."""
    model = TARGETS[kind]
    now = timezone.now()
    claimed = (
        model.objects.filter(pk=target_id, status=TargetStatus.ACTIVE)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )
    if claimed != 1:
        return 0  # disabled, gone, or another worker holds it (it will send ours too)
    target = model.objects.get(pk=target_id)
    delivered = 0
    own_client = client is None
    client = client or guarded_client()
    try:
        started = time.monotonic()
        while time.monotonic() - started < RUN_SECONDS:
            head = target.deliveries.filter(status=Delivery.Status.PENDING).order_by("id").first()
            if head is None:
                return delivered
            if head.next_attempt_at > timezone.now():
                _wake_at(kind, target.pk, head.next_attempt_at)
                return delivered
            if not attempt_delivery(delivery=head, target=target, client=client):
                return delivered
            delivered += 1
        _wake_at(kind, target.pk, timezone.now())
        return delivered
    finally:
        model.objects.filter(pk=target_id).update(lease_until=None)
        if own_client:
            client.close()


def attempt_delivery(*, delivery: Delivery, target: Target, client: httpx.Client) -> bool:
    """One attempt at ``delivery``; True when it was delivered."""
    now = timezone.now()
    url, status_code, error, answer = delivery.url or target.url, None, "", ""
    started = time.monotonic()
    try:
        check_target(url)
        response = _send(delivery=delivery, target=target, url=url, client=client)
        status_code, answer = response.status_code, excerpt(response.text)
        if not 200 <= status_code < 300:
            error = f"Answered {status_code}" + (" (redirects are not followed)" if 300 <= status_code < 400 else "")
    except UnsafeTarget as exc:
        error = f"Refused: {exc}"
    except httpx.TimeoutException:
        error = "Timed out"
    except httpx.HTTPError as exc:
        error = f"Could not connect: {exc}"[:300]
    duration = int((time.monotonic() - started) * 1000)
    with transaction.atomic():
        Attempt.objects.create(
            workspace_id=delivery.workspace_id,
            delivery=delivery,
            created_at=now,
            request_url=url,
            status_code=status_code,
            duration_ms=duration,
            error=error[:300],
            response_excerpt=answer,
        )
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error[:300]
        if not error:
            return _delivered(delivery, target, now)
        return _failed(delivery, target, now)


def _send(*, delivery: Delivery, target: Target, url: str, client: httpx.Client) -> httpx.Response:
    if isinstance(target, MemberPostback):
        return client.get(url)
    from outbound.services.webhooks import signing_secrets

    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(signing_secrets(target), delivery.msg_id, timestamp, delivery.body),
    }
    return client.post(url, content=delivery.body.encode(), headers=headers)


def _delivered(delivery: Delivery, target: Target, now) -> bool:
    delivery.status = Delivery.Status.DELIVERED
    delivery.delivered_at = now
    delivery.save(update_fields=["status", "delivered_at", "attempts", "last_status_code", "last_error"])
    if target.failing_since:
        type(target).objects.filter(pk=target.pk).update(failing_since=None)
        target.failing_since = None
    return True


def _failed(delivery: Delivery, target: Target, now) -> bool:
    delay = retry_delay(delivery.attempts)
    fields = ["attempts", "last_status_code", "last_error", "status", "next_attempt_at"]
    type(target).objects.filter(pk=target.pk, failing_since=None).update(failing_since=now)
    if delay is not None and delivery.attempts < MAX_ATTEMPTS:
        delivery.next_attempt_at = now + delay
        delivery.save(update_fields=fields)
        _wake_at(kind_of(target), target.pk, delivery.next_attempt_at)
        return False
    delivery.status = Delivery.Status.FAILED
    delivery.save(update_fields=fields)
    disable_target(
        target=target,
        reason=f"Disabled {now:%Y-%m-%d %H:%M} UTC after {delivery.attempts} failed attempts over a day: "
        f"{delivery.last_error}"[:300],
    )
    return False


def disable_target(*, target: Target, reason: str, notify: bool = True) -> None:
    """Stop sending to ``target``; with ``notify``, tell the workspace owners (once, however often called)."""
    changed = (
        type(target)
        .objects.filter(pk=target.pk, status=TargetStatus.ACTIVE)
        .update(status=TargetStatus.DISABLED, disabled_reason=reason[:300], updated_at=timezone.now())
    )
    target.status, target.disabled_reason = TargetStatus.DISABLED, reason[:300]
    if changed and notify:
        transaction.on_commit(lambda: _email_owners_disabled(target))


def _email_owners_disabled(target: Target) -> None:
    from workspaces.models import Membership

    owners = Membership.objects.filter(workspace_id=target.workspace_id, role=Role.OWNER).select_related(
        "user", "workspace"
    )
    emails = [m.user.email for m in owners if m.user.email]
    if not emails:
        return
    send_templated(
        "outbound-disabled",
        emails,
        {"target": target, "kind": kind_of(target), "workspace": owners[0].workspace, "url": _page_of(target)},
    )


def _page_of(target: Target) -> str:
    from django.conf import settings
    from django.urls import reverse

    if isinstance(target, WebhookEndpoint):
        return settings.SITE_URL + reverse("outbound:webhook_detail", kwargs={"code": target.code})
    return settings.SITE_URL + reverse("outbound:member_postbacks", kwargs={"code": target.member.code})


def _wake_at(kind: str, target_id: int, when) -> None:
    from outbound.tasks import deliver as deliver_task

    countdown = max(0.0, (when - timezone.now()).total_seconds())
    transaction.on_commit(lambda: deliver_task.apply_async((kind, target_id), countdown=countdown))


def wake_due_targets_all_workspaces() -> int:
    """The sweeper: enqueue every active, unleased target whose oldest pending delivery is due.

    Retries are scheduled with a countdown when they fail; this catches the ones a lost
    broker message or a restarted worker dropped.
    """
    from outbound.tasks import deliver as deliver_task

    now = timezone.now()
    woken = 0
    for kind, field in (("endpoint", "endpoint"), ("postback", "postback")):
        heads = (
            Delivery.objects.filter(status=Delivery.Status.PENDING, **{f"{field}__isnull": False})
            .filter(**{f"{field}__status": TargetStatus.ACTIVE})
            .filter(Q(**{f"{field}__lease_until__isnull": True}) | Q(**{f"{field}__lease_until__lt": now}))
            .values(field)
            .annotate(first=Min("next_attempt_at"))
            .filter(first__lte=now)
        )
        for row in heads:
            deliver_task.delay(kind, row[field])
            woken += 1
    return woken


def resend_delivery(*, delivery: Delivery) -> Delivery:
    """Queue ``delivery`` again, as a new delivery at the end of its target's queue (same webhook-id)."""
    from outbound.tasks import deliver as deliver_task
    from workspaces.errors import DomainError

    target = delivery.target
    if not target.is_active:
        raise DomainError("This target is disabled; enable it first, then resend.")
    copy = Delivery.objects.create(
        workspace_id=delivery.workspace_id,
        endpoint_id=delivery.endpoint_id,
        postback_id=delivery.postback_id,
        message_id=delivery.message_id,
        topic=delivery.topic,
        msg_id=delivery.msg_id,
        body=delivery.body,
        url=delivery.url,
        resend_of=delivery,
    )
    kind = kind_of(target)
    transaction.on_commit(lambda: deliver_task.delay(kind, target.pk))
    return copy
