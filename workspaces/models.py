import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from workspaces.outbox_order import outbox_txid_field


class TimeStamped(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    FINANCE = "finance", "Finance"
    VIEWER = "viewer", "Viewer"


# What each role may change. Everyone in a workspace may read it.
# "manage": offers, members, links, networks, conversions, postbacks.
# "finance": settlements, payments, ledger exports.
# "admin": workspace settings, team, API keys.
# Who holds each right, in the words a refusal uses.
RIGHT_HOLDERS = {
    "manage": "owners and managers",
    "finance": "owners and finance",
    "admin": "owners",
}
ROLE_RIGHTS = {
    Role.OWNER: {"manage", "finance", "admin"},
    Role.MANAGER: {"manage"},
    Role.FINANCE: {"finance"},
    Role.VIEWER: set(),
}


class Workspace(TimeStamped):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, default="USD")
    # Business days between a settlement being received and the money reaching the balance.
    crediting_delay_days = models.PositiveSmallIntegerField(default=3)
    # Whose public holidays are not business days when crediting (ISO 3166 alpha-2; "" for weekends only).
    holiday_country = models.CharField(max_length=2, blank=True, default="US")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(crediting_delay_days__gte=2, crediting_delay_days__lte=5),
                name="workspace_crediting_delay_2_to_5",
            )
        ]

    def __str__(self):
        return self.name

    @staticmethod
    def unique_slug(name: str) -> str:
        base = slugify(name)[:50] or "workspace"
        slug = base
        while Workspace.objects.filter(slug=slug).exists():
            slug = f"{base}-{secrets.token_hex(3)}"
        return slug


class Membership(TimeStamped):
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="membership_once")]

    def __str__(self):
        return f"{self.user} in {self.workspace} ({self.role})"

    def can(self, right: str) -> bool:
        return right in ROLE_RIGHTS[Role(self.role)]

    # For templates, which cannot pass an argument: show a control only to those who may use it.
    @property
    def can_manage(self) -> bool:
        return self.can("manage")

    @property
    def can_finance(self) -> bool:
        return self.can("finance")

    @property
    def can_admin(self) -> bool:
        return self.can("admin")


def _invitation_expiry():
    return timezone.now() + timedelta(days=14)


class Invitation(TimeStamped):
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices)
    token = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # One open invitation per address and workspace.
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=models.Q(accepted_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class ApiKey(TimeStamped):
    """A workspace API key. Only a hash is stored; the key is shown once.

    Keys look like ``hub_<prefix>_<secret>``; the prefix finds the row in one
    indexed query, the secret is compared in constant time.
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="api_keys")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, unique=True)
    hashed_secret = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} (hub_{self.prefix}_…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def make(cls, *, workspace, name, created_by=None) -> tuple["ApiKey", str]:
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(24)
        key = cls.objects.create(
            workspace=workspace,
            name=name,
            prefix=prefix,
            hashed_secret=cls.hash_secret(secret),
            created_by=created_by,
        )
        return key, f"hub_{prefix}_{secret}"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.hashed_secret, self.hash_secret(secret))


class Profile(models.Model):
    """A person's own preferences, whatever workspace they are in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="profile")
    # The zone dates and times are shown in (an IANA name); "" is the hub's TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True)


class Event(models.Model):
    """Something that happened in a workspace that other parts of the hub react to.

    Written by the app that made the change, in the same transaction (see
    ``workspaces.outbox.publish``), so a change that rolls back never announces
    itself. Conversion changes have their own outbox (``tracking.ConversionEvent``);
    this log carries the rest: payments sent or returned, settlements received,
    syncs failing, connections breaking, alerts opening.

    ``topic`` is a dotted name such as "payment.sent"; ``subject`` names the object
    ("payment:<code>"); ``data`` is a JSON snapshot the readers need, so they never
    depend on the row having stayed the same.
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    topic = models.CharField(max_length=40)
    subject = models.CharField(max_length=80, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    txid = outbox_txid_field()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "topic", "-id"], name="event_workspace_topic"),
            models.Index(fields=["txid", "id"], name="event_outbox_order"),
        ]

    def __str__(self):
        return f"{self.topic} {self.subject}".strip()


class OutboxCursor(models.Model):
    """How far one consumer has read an outbox table (see ``workspaces.outbox``)."""

    consumer = models.CharField(max_length=60, primary_key=True)
    # The last row handed to the consumer: its writing transaction (PostgreSQL) and its id.
    txid = models.BigIntegerField(default=0)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.consumer} at {self.position}"


def random_domain_token() -> str:
    return secrets.token_hex(16)


class TrackingDomain(TimeStamped):
    """A workspace's own host for its links (e.g. ``go.brand.com``).

    It serves clicks once verified: a DNS TXT record ``_hub-verify.<host>`` holding
    ``hub-verify=<token>`` proves the workspace controls the name. A verified domain
    serves only its own workspace's links; the primary one is the host links are shown
    with (workspaces/domains.py).
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="tracking_domains")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    host = models.CharField(max_length=253, unique=True)  # lower-case, IDNA (punycode), no port
    token = models.CharField(max_length=64, default=random_domain_token)
    verified_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_message = models.CharField(max_length=300, blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(is_primary=True), name="trackingdomain_one_primary"
            ),
        ]

    def __str__(self):
        return self.host

    @property
    def txt_name(self) -> str:
        return f"_hub-verify.{self.host}"

    @property
    def txt_value(self) -> str:
        return f"hub-verify={self.token}"
