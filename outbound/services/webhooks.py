"""Webhook endpoints: add, change, remove, secrets (shown once, rotated with an overlap), test events."""

import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from networks.crypto import decrypt_credentials, encrypt_credentials
from outbound.lib import UnsafeTarget, new_secret
from outbound.models import TOPICS, Delivery, TargetStatus, WebhookEndpoint
from outbound.services.messages import body_of, envelope
from outbound.transport import check_target
from workspaces.errors import DomainError
from workspaces.models import Workspace

# How long the previous secret keeps signing after a rotation, unless the owner picks another overlap.
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS = 20


class UrlRefused(DomainError):
    """The URL itself is refused (forms show it next to the URL field)."""


def check_url(url: str) -> None:
    """UrlRefused unless ``url`` is https and its host resolves to public addresses only."""
    try:
        check_target(url)
    except UnsafeTarget as exc:
        raise UrlRefused(str(exc)) from None


def _clean_topics(topics) -> list[str]:
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown:
        raise DomainError(f"Unknown events: {', '.join(unknown)}.")
    if not topics:
        raise DomainError("Choose at least one event.")
    return [t for t in TOPICS if t in topics]


def create_endpoint(
    *, workspace: Workspace, url: str, description: str = "", topics, created_by=None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once; only an encrypted copy is kept)."""
    check_url(url)
    topics = _clean_topics(topics)
    if WebhookEndpoint.objects.filter(workspace=workspace).count() >= MAX_ENDPOINTS:
        raise DomainError(f"A workspace can have {MAX_ENDPOINTS} webhook endpoints; remove one first.")
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace,
        url=url,
        description=description,
        topics=topics,
        secrets_encrypted=encrypt_credentials({"current": secret}),
        created_by=created_by,
    )
    return endpoint, secret


def update_endpoint(*, endpoint: WebhookEndpoint, url: str, description: str, topics) -> WebhookEndpoint:
    check_url(url)
    endpoint.url, endpoint.description, endpoint.topics = url, description, _clean_topics(topics)
    endpoint.save(update_fields=["url", "description", "topics", "updated_at"])
    return endpoint


def delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its overlap."""
    stored = decrypt_credentials(endpoint.secrets_encrypted)
    found = [stored["current"]]
    expires = endpoint.previous_secret_expires_at
    if stored.get("previous") and expires and expires > timezone.now():
        found.append(stored["previous"])
    return found


@transaction.atomic
def rotate_secret(*, endpoint: WebhookEndpoint, overlap: timedelta = DEFAULT_OVERLAP) -> str:
    """A new secret (returned once). The old one keeps signing beside it for ``overlap``, so the
    receiver can switch without losing a message: both signatures travel in webhook-signature."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    stored = decrypt_credentials(endpoint.secrets_encrypted)
    secret = new_secret()
    endpoint.secrets_encrypted = encrypt_credentials({"current": secret, "previous": stored["current"]})
    endpoint.previous_secret_expires_at = timezone.now() + overlap
    endpoint.save(update_fields=["secrets_encrypted", "previous_secret_expires_at", "updated_at"])
    return secret


def enable_target(*, target) -> None:
    """Send again to a disabled endpoint or member postback, starting with what is still pending."""
    from outbound.services.delivery import kind_of
    from outbound.tasks import deliver as deliver_task

    type(target).objects.filter(pk=target.pk).update(
        status=TargetStatus.ACTIVE, disabled_reason="", failing_since=None, updated_at=timezone.now()
    )
    target.status, target.disabled_reason, target.failing_since = TargetStatus.ACTIVE, "", None
    kind = kind_of(target)
    # What waited starts a fresh day of retries (its attempt log keeps the earlier ones).
    Delivery.objects.filter(**{kind: target}, status=Delivery.Status.PENDING).update(
        next_attempt_at=timezone.now(), attempts=0
    )
    transaction.on_commit(lambda: deliver_task.delay(kind, target.pk))


def disable_endpoint(*, endpoint: WebhookEndpoint, actor: str = "") -> None:
    from outbound.services.delivery import disable_target

    disable_target(target=endpoint, reason=f"Disabled by {actor or 'a workspace owner'}.", notify=False)


def send_test_event(*, endpoint: WebhookEndpoint) -> Delivery:
    """A ``webhook.test`` message to this endpoint only, queued behind what it already has."""
    from outbound.tasks import deliver as deliver_task

    if not endpoint.is_active:
        raise DomainError("This endpoint is disabled; enable it to send a test event.")
    now = timezone.now()
    payload = envelope(
        "webhook.test",
        {"endpoint": str(endpoint.code), "message": "A test event from the affiliate tracking hub."},
        now,
    )
    delivery = Delivery.objects.create(
        workspace_id=endpoint.workspace_id,
        endpoint=endpoint,
        topic="webhook.test",
        msg_id=f"msg_{uuid.uuid4().hex}",
        body=body_of(payload),
    )
    transaction.on_commit(lambda: deliver_task.delay("endpoint", endpoint.pk))
    return delivery


def reencrypt_secrets_all_workspaces() -> tuple[int, list[str]]:
    """Every endpoint's secrets encrypted again with the newest FERNET_KEYS key; (rotated, problems)."""
    from networks.crypto import CredentialsUnreadable, rotate_token

    rotated, problems = 0, []
    for endpoint in WebhookEndpoint.objects.only("id", "url", "secrets_encrypted"):
        try:
            token = rotate_token(endpoint.secrets_encrypted)
        except CredentialsUnreadable:
            problems.append(f"Webhook {endpoint.url} (id {endpoint.id}): no configured key decrypts its secret")
            continue
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secrets_encrypted=token)
        rotated += 1
    return rotated, problems
