"""What the hub sends out: signed webhooks, member postbacks, and the log of every attempt.

A ``Message`` is one event as the outside world sees it (the body of a webhook and an
item of ``/api/v1/events/``), made once from an outbox row. A ``Delivery`` is one message
on its way to one target (a webhook endpoint or a member's postback URL); each try is an
``Attempt``. Deliveries of one target go out in id order (see outbound/services/delivery.py).
"""

import uuid

from django.db import models
from django.utils import timezone

from offers.lib import DEVICES
from offers.models import Member
from workspaces.models import TimeStamped, Workspace

# Every topic a webhook endpoint can subscribe to, with what it means.
TOPICS = {
    "conversion.created": "A new conversion",
    "conversion.updated": "A conversion's status, amounts or member changed",
    "conversion.reversed": "A conversion was reversed or rejected",
    "payment.sent": "A payment to a member was sent",
    "payment.failed": "A payment failed or was returned",
    "settlement.received": "A network settlement was received",
    "sync.failed": "A network API sync failed",
    "connection.broken": "A network connection's credentials stopped working",
    "alert.opened": "An alert opened",
}


class TargetStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"


class Target(TimeStamped):
    """What webhook endpoints and member postbacks share: a URL that deliveries go to, in order."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    url = models.URLField(max_length=2000)
    status = models.CharField(max_length=10, choices=TargetStatus.choices, default=TargetStatus.ACTIVE)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Since when deliveries have been failing without a success in between (None: healthy).
    failing_since = models.DateTimeField(null=True, blank=True)
    # A worker delivering to this target holds it until then, so deliveries stay in order.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status == TargetStatus.ACTIVE


class WebhookEndpoint(Target):
    description = models.CharField(max_length=200, blank=True)
    topics = models.JSONField(default=list)
    # {"current": "whsec_...", "previous": "whsec_..."}, encrypted like network credentials.
    secrets_encrypted = models.TextField()
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey("auth.User", models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        indexes = [
            # Fan-out: a workspace's endpoints.
            models.Index(fields=["workspace", "status"], name="webhook_ws_status"),
        ]

    def __str__(self):
        return self.url

    def wants(self, topic: str) -> bool:
        return topic in self.topics


class MemberPostback(Target):
    """A member's own tracking URL, called with macros on each new or changed conversion of theirs."""

    member = models.ForeignKey(Member, models.CASCADE, related_name="outbound_postbacks")

    class Meta:
        indexes = [
            # Fan-out: the postbacks of a conversion's member.
            models.Index(fields=["member", "status"], name="memberpostback_member"),
        ]

    def __str__(self):
        return f"{self.member} → {self.url}"


class Message(models.Model):
    """One event as it is sent and listed: ``payload`` is {"type", "timestamp", "data"}."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    topic = models.CharField(max_length=40)
    payload = models.JSONField()
    # The outbox row it was made from ("conversion-event:12", "event:7"): made once.
    source = models.CharField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # /api/v1/events/: a workspace's events by time, either way.
            models.Index(fields=["workspace", "created_at", "id"], name="message_ws_created"),
        ]

    @property
    def msg_id(self) -> str:
        return f"msg_{self.code.hex}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, models.CASCADE, null=True, blank=True, related_name="deliveries")
    postback = models.ForeignKey(MemberPostback, models.CASCADE, null=True, blank=True, related_name="deliveries")
    message = models.ForeignKey(Message, models.SET_NULL, null=True, blank=True, related_name="deliveries")
    topic = models.CharField(max_length=40)
    # The webhook-id header: the same for every attempt and every resend of one message.
    msg_id = models.CharField(max_length=40)
    # Webhooks: the exact JSON body that is signed. Postbacks: empty (the URL says it all).
    body = models.TextField(blank=True)
    # Postbacks: the URL with its macros filled in. Webhooks: empty (the endpoint's URL).
    url = models.CharField(max_length=4000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    resend_of = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(endpoint__isnull=False, postback__isnull=True)
                | models.Q(endpoint__isnull=True, postback__isnull=False),
                name="delivery_one_target",
            )
        ]
        indexes = [
            # The delivery loop and the sweeper: a target's pending deliveries in order.
            models.Index(
                fields=["endpoint", "id"], condition=models.Q(status="pending"), name="delivery_endpoint_pending"
            ),
            models.Index(
                fields=["postback", "id"], condition=models.Q(status="pending"), name="delivery_postback_pending"
            ),
            # Delivery logs: a target's deliveries, newest first.
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_log"),
            models.Index(fields=["postback", "-id"], name="delivery_postback_log"),
        ]

    @property
    def target(self) -> Target:
        return self.endpoint if self.endpoint_id else self.postback


class Attempt(models.Model):
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    delivery = models.ForeignKey(Delivery, models.CASCADE, related_name="attempt_log")
    created_at = models.DateTimeField(default=timezone.now)
    request_url = models.CharField(max_length=4000)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.TextField(blank=True)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class AlertKind(models.TextChoices):
    TRACKING_LOSS = "tracking_loss", "Tracking loss"
    POSTBACK_REJECTS = "postback_rejects", "Postbacks rejected"
    POSTBACK_SILENCE = "postback_silence", "No postbacks"
    CONNECTION_BROKEN = "connection_broken", "Connection broken"
    SYNC_STALE = "sync_stale", "Sync not succeeding"
    SETTLEMENT_OVERDUE = "settlement_overdue", "Settlement overdue"
    PAYMENT_RETURNED = "payment_returned", "Payment returned"
    LINK_BROKEN = "link_broken", "Offer link broken"


class AlertSettings(models.Model):
    """The owner's thresholds for one workspace (a row is made with the defaults when first needed)."""

    workspace = models.OneToOneField(Workspace, models.CASCADE, primary_key=True, related_name="+")
    # Our clicks and the network's click export differ by more than this on a day.
    tracking_loss_percent = models.PositiveSmallIntegerField(default=20)
    # Share of a connection's postbacks in the last hour that were rejected or matched no click.
    postback_reject_percent = models.PositiveSmallIntegerField(default=25)
    # Hours without a postback from a connection that usually sends them.
    postback_silence_hours = models.PositiveSmallIntegerField(default=24)
    # Days past its expected date before a settlement counts as overdue.
    settlement_overdue_days = models.PositiveSmallIntegerField(default=5)
    email_owners = models.BooleanField(default=True)
    # When the link monitor finds an offer broken, pause it so clicks go to its fallback URL.
    link_auto_fallback = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    tracking_loss_percent__gte=1,
                    tracking_loss_percent__lte=100,
                    postback_reject_percent__gte=1,
                    postback_reject_percent__lte=100,
                    postback_silence_hours__gte=1,
                    postback_silence_hours__lte=720,
                    settlement_overdue_days__gte=1,
                    settlement_overdue_days__lte=90,
                ),
                name="alertsettings_ranges",
            )
        ]


class Alert(models.Model):
    """Something wrong that holds right now: opened once, kept open while it holds, closed when it clears."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    # What it is about, e.g. "connection:<code>"; one open alert per kind and key.
    key = models.CharField(max_length=120)
    title = models.CharField(max_length=200)
    detail = models.CharField(max_length=1000, blank=True)
    # A staff page where it can be looked into.
    path = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "key"], condition=models.Q(closed_at__isnull=True), name="alert_one_open"
            )
        ]
        indexes = [
            # Dashboard and alert list: a workspace's alerts, open ones first, newest first.
            models.Index(fields=["workspace", "closed_at", "-opened_at"], name="alert_ws_open"),
        ]

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class LinkCheck(models.Model):
    """One run of the link monitor over one URL a click would be sent to."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    offer = models.ForeignKey("offers.Offer", models.CASCADE, related_name="link_checks")
    checked_at = models.DateTimeField(default=timezone.now)
    url = models.CharField(max_length=4000)
    # A deep link in use (a link's destination); empty for the offer URL itself.
    deep_link = models.CharField(max_length=2000, blank=True)
    # "ios" or "android" for the offer's device URL of that system; empty otherwise.
    device = models.CharField(max_length=10, blank=True, default="")
    ok = models.BooleanField()
    problem = models.CharField(max_length=300, blank=True)
    final_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # [{"url": ..., "status": 302, "carries_id": true}, ...] in the order followed.
    hops = models.JSONField(default=list)

    class Meta:
        indexes = [
            # Offer page and the alert rule: an offer's latest checks.
            models.Index(fields=["offer", "-checked_at"], name="linkcheck_offer_latest"),
        ]

    @property
    def target_label(self) -> str:
        """What was checked, as a heading: "Offer URL", "iOS URL", "Android URL" or "Deep link"."""
        if self.deep_link:
            return "Deep link"
        return DEVICES.get(self.device, "Offer URL")
