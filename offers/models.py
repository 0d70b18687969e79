import secrets
import string
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import models
from django.utils import timezone

from workspaces.domains import tracking_base_url
from workspaces.models import TimeStamped, Workspace
from workspaces.public_paths import LINK_CODE_LENGTH, click_path

CODE_ALPHABET = string.ascii_letters + string.digits


def random_code(length: int = LINK_CODE_LENGTH) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def random_affiliate_id() -> str:
    # Public, stable, random: never derived from a sequential id.
    return "m" + secrets.token_hex(5)


def random_secret() -> str:
    return secrets.token_urlsafe(24)


class NetworkKind(models.TextChoices):
    IMPACT = "impact", "impact.com"
    SHAREASALE = "shareasale", "ShareASale"
    AWIN = "awin", "Awin"
    GENERIC = "generic", "Generic network"


class NetworkConnection(TimeStamped):
    """One network account of a workspace.

    Lives beside offers (the brand's set-up) so that tracking can resolve a
    postback secret and networks can sync without importing each other.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BROKEN = "broken", "Broken"
        PAUSED = "paused", "Paused"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="connections")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=NetworkKind.choices)
    label = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_message = models.CharField(max_length=500, blank=True)
    # Postback authentication.
    postback_secret = models.CharField(max_length=64, unique=True, default=random_secret)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    ip_allowlist = models.TextField(blank=True, help_text="CIDR ranges, one per line. Empty allows all.")
    basic_auth_username = models.CharField(max_length=150, blank=True)
    basic_auth_password_hash = models.CharField(max_length=128, blank=True)
    # API credentials. The account id in clear (Impact Account SID, ShareASale affiliate id,
    # Awin publisher id); the secrets encrypted with Fernet (Impact Auth Token, ShareASale
    # API token and secret, Awin OAuth token).
    account_sid = models.CharField(max_length=64, blank=True)
    credentials_encrypted = models.TextField(blank=True)
    credentials_checked_at = models.DateTimeField(null=True, blank=True)
    # ShareASale's monthly API request credits left, as of the last apitokencount call.
    api_credits_left = models.PositiveIntegerField(null=True, blank=True)
    api_credits_checked_at = models.DateTimeField(null=True, blank=True)
    # Settlement schedule: the network pays on this day of the month for
    # conversions locked before the period's end (Impact: 1st, ShareASale: 20th, Awin: 15th).
    settlement_day = models.PositiveSmallIntegerField(default=1)
    sync_enabled = models.BooleanField(default=True)
    # The network account's time zone (an IANA name): a network's "day" (Impact's click export
    # Date) is a day there. The network's own answer wins (Impact: CompanyInformation's Timezone,
    # stored in network_timezone); the setting is used when the API token may not read it.
    # Database defaults too, so code from before these fields can still insert connections mid-deploy.
    timezone = models.CharField(max_length=64, default="UTC", db_default="UTC")
    network_timezone = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        indexes = [
            # Networks page and beat: a workspace's connections by kind.
            models.Index(fields=["workspace", "kind"], name="conn_ws_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(settlement_day__gte=1, settlement_day__lte=28), name="conn_settlement_day_1_28"
            )
        ]

    def __str__(self):
        return f"{self.label} ({self.get_kind_display()})"

    @property
    def account_timezone(self) -> ZoneInfo:
        for name in (self.network_timezone, self.timezone):
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue  # blank or unknown: the next source
        return ZoneInfo("UTC")

    def rotate_secret(self) -> None:
        self.postback_secret = random_secret()
        self.secret_rotated_at = timezone.now()
        self.save(update_fields=["postback_secret", "secret_rotated_at", "updated_at"])


class Project(TimeStamped):
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="projects")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="project_name_unique")]

    def __str__(self):
        return self.name


class Member(TimeStamped):
    """A creator who shares links and earns payouts."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="members")
    project = models.ForeignKey(Project, models.SET_NULL, null=True, blank=True, related_name="members")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    affiliate_id = models.CharField(max_length=32, unique=True, default=random_affiliate_id)
    name = models.CharField(max_length=120)
    email = models.EmailField(blank=True)
    handle = models.CharField(max_length=80, blank=True)
    paypal_email = models.EmailField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    is_test = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # Members list: a workspace's members by name.
            models.Index(fields=["workspace", "name"], name="member_ws_name"),
        ]
        constraints = [
            # An email identifies one member within a workspace (CSV import relies on it).
            models.UniqueConstraint(
                fields=["workspace", "email"], condition=~models.Q(email=""), name="member_email_unique"
            )
        ]

    def __str__(self):
        return self.name


class ConversionType(models.TextChoices):
    SALE = "sale", "Sale"
    LEAD = "lead", "Lead"
    INSTALL = "install", "Install"
    SIGNUP = "signup", "Sign-up"


class PayoutType(models.TextChoices):
    FLAT = "flat", "Flat amount per conversion (CPA)"
    PERCENT = "percent", "Percent of sale (CPS)"
    FLAT_PERCENT = "flat_percent", "Flat + percent of sale"
    PASSTHROUGH = "passthrough", "Network payout passed through"


class Protocol(models.TextChoices):
    POSTBACK_TRANSACTION = "server_postback_transaction_id", "Server postback with transaction ID"
    IMAGE_PIXEL = "https_image_pixel", "HTTPS image pixel"
    POSTBACK_AFFILIATE = "server_postback_affiliate_id", "Server postback with affiliate ID"


class Offer(TimeStamped):
    """A Link Tracking Offer."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        SCHEDULED = "scheduled", "Scheduled"
        EXPIRED = "expired", "Expired"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="offers")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    conversion_type = models.CharField(max_length=10, choices=ConversionType.choices, default=ConversionType.SALE)
    payout_type = models.CharField(max_length=14, choices=PayoutType.choices, default=PayoutType.PERCENT)
    payout_flat = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    payout_percent = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("0.000"))
    currency = models.CharField(max_length=3, default="USD")
    protocol = models.CharField(max_length=32, choices=Protocol.choices, default=Protocol.POSTBACK_TRANSACTION)
    connection = models.ForeignKey(NetworkConnection, models.SET_NULL, null=True, blank=True, related_name="offers")
    offer_url = models.URLField(max_length=2000)
    # Device targeting: clicks from iPhones and iPads, or from Android devices, go here instead
    # of the offer URL when set (an app store or app link through the network, say).
    ios_url = models.URLField(max_length=2000, blank=True)
    android_url = models.URLField(max_length=2000, blank=True)
    fallback_url = models.URLField(max_length=2000, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    # Host names a deep link (?url=) may point at, one per line; "*.example.com" allows subdomains.
    allowed_domains = models.TextField(blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    allow_multiple_conversions = models.BooleanField(default=False)
    # A sale more than this many days after its click is held for review (risk: converted too late).
    attribution_window_days = models.PositiveSmallIntegerField(default=30)
    # The commission the brand agreed with the network for this offer (percent of the sale and/or
    # a flat amount per sale); a network payout far off it is held for review (risk: commission drift).
    agreed_commission_percent = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    agreed_commission_flat = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Offers list, newest first.
            models.Index(fields=["workspace", "-created_at"], name="offer_ws_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(payout_flat__gte=0), name="offer_payout_flat_gte_0"),
            models.CheckConstraint(
                condition=models.Q(payout_percent__gte=0, payout_percent__lte=100), name="offer_payout_percent_0_100"
            ),
        ]

    def __str__(self):
        return self.name

    def state_at(self, when=None) -> str:
        when = when or timezone.now()
        if self.paused:
            return self.State.PAUSED
        if self.ends_at and when >= self.ends_at:
            return self.State.EXPIRED
        if self.starts_at and when < self.starts_at:
            return self.State.SCHEDULED
        return self.State.ACTIVE

    @property
    def state(self) -> str:
        return self.state_at()

    @property
    def utm_items(self) -> list[tuple[str, str]]:
        return [(k, getattr(self, k)) for k in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")]

    @property
    def allowed_domain_list(self) -> list[str]:
        return [d.strip().lower() for d in self.allowed_domains.replace(",", "\n").splitlines() if d.strip()]


class PayoutOverride(TimeStamped):
    """A member-specific payout on one offer; replaces the offer's payout option."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    offer = models.ForeignKey(Offer, models.CASCADE, related_name="overrides")
    member = models.ForeignKey(Member, models.CASCADE, related_name="overrides")
    payout_type = models.CharField(max_length=14, choices=PayoutType.choices)
    payout_flat = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    payout_percent = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("0.000"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["offer", "member"], name="override_once")]


class Link(TimeStamped):
    """A member's link for one offer: /c/<code> (or /c/<vanity>)."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="links")
    offer = models.ForeignKey(Offer, models.CASCADE, related_name="links")
    member = models.ForeignKey(Member, models.CASCADE, related_name="links")
    code = models.CharField(max_length=LINK_CODE_LENGTH, unique=True, default=random_code)
    vanity = models.SlugField(max_length=50, unique=True, null=True, blank=True)
    destination_url = models.URLField(max_length=2000, blank=True, help_text="Deep link; empty uses the offer URL.")
    sub1 = models.CharField(max_length=255, blank=True)
    sub2 = models.CharField(max_length=255, blank=True)
    sub3 = models.CharField(max_length=255, blank=True)
    sub4 = models.CharField(max_length=255, blank=True)
    sub5 = models.CharField(max_length=255, blank=True)
    utm_overrides = models.JSONField(default=dict, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Offer page and member page: their links.
            models.Index(fields=["workspace", "offer"], name="link_ws_offer"),
            models.Index(fields=["workspace", "member"], name="link_ws_member"),
        ]

    def __str__(self):
        return self.vanity or self.code

    @property
    def url(self) -> str:
        """The public link to share: <the workspace's primary tracking domain, else SITE_URL>/c/<vanity or code>."""
        return tracking_base_url(self.workspace_id) + click_path(self.vanity or self.code)

    @property
    def subs(self) -> list[str]:
        return [self.sub1, self.sub2, self.sub3, self.sub4, self.sub5]

    @property
    def is_plain(self) -> bool:
        return not (
            self.destination_url or self.vanity or self.sub1 or self.sub2 or self.sub3 or self.sub4 or self.sub5
        )


def promo_key(text: str) -> str:
    """How a promo code is compared: codes are case-insensitive ("summer20" is "SUMMER20")."""
    return text.strip().upper()


class PromoCode(TimeStamped):
    """A discount code that credits its member with the sales it is used on.

    A code is for one offer, or for every offer of its member (``offer`` empty); a member
    may have several. Codes are unique per workspace whatever their case: ``key`` holds
    the upper-cased code, and the constraint is on it.
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(Member, models.CASCADE, related_name="promo_codes")
    offer = models.ForeignKey(Offer, models.CASCADE, null=True, blank=True, related_name="promo_codes")
    text = models.CharField(max_length=64)
    key = models.CharField(max_length=64)

    class Meta:
        constraints = [
            # Also the index of attribution's lookup: a workspace's code by its key.
            models.UniqueConstraint(fields=["workspace", "key"], name="promo_code_key_unique"),
        ]

    def __str__(self):
        return self.text


class PayoutRule(TimeStamped):
    """A member payout for the items of one SKU or category on an offer.

    An offer's rules are tried in ``position`` order and the first that matches an item
    prices it (flat per unit, or percent of the item's sale); items no rule matches are
    priced together with the offer's payout (or the member's override). offers/payouts.py
    has the maths.
    """

    class Match(models.TextChoices):
        SKU = "sku", "SKU"
        CATEGORY = "category", "Category"

    class Kind(models.TextChoices):
        FLAT = "flat", "Flat amount per unit"
        PERCENT = "percent", "Percent of the item's sale"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offer = models.ForeignKey(Offer, models.CASCADE, related_name="payout_rules", db_index=False)
    position = models.PositiveSmallIntegerField(default=0)
    match = models.CharField(max_length=10, choices=Match.choices)
    value = models.CharField(max_length=100)  # compared without regard to case
    payout_type = models.CharField(max_length=10, choices=Kind.choices)
    payout_flat = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    payout_percent = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("0.000"))

    class Meta:
        indexes = [
            # Pricing a conversion with items: an offer's rules in order.
            models.Index(fields=["offer", "position"], name="payoutrule_offer_position"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(payout_flat__gte=0), name="payoutrule_flat_gte_0"),
            models.CheckConstraint(
                condition=models.Q(payout_percent__gte=0, payout_percent__lte=100), name="payoutrule_percent_0_100"
            ),
        ]
