import uuid
from decimal import Decimal

from django.db import models
from django.utils import timezone

from offers.models import Link, Member, NetworkConnection, Offer
from workspaces.models import TimeStamped, Workspace
from workspaces.outbox_order import outbox_txid_field


class Click(models.Model):
    """One redirect through /c/<code>. Raw IPs are never stored, only a keyed hash."""

    # Every click row updates each index once: foreign keys that lead a composite index
    # below get no index of their own, and the transaction id's uniqueness is a constraint
    # (no extra pattern-matching index; it is only ever looked up whole). On PostgreSQL the
    # table is partitioned by month of ``created_at`` (tracking/partitions.py), so the
    # constraint carries ``created_at`` too; a buffered click keeps its ``created_at`` from the
    # moment of the click, so storing it twice meets the same pair.
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    transaction_id = models.CharField(max_length=64)
    link = models.ForeignKey(Link, models.CASCADE, related_name="clicks")
    offer = models.ForeignKey(Offer, models.CASCADE, related_name="clicks", db_index=False)
    member = models.ForeignKey(Member, models.CASCADE, related_name="clicks", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)
    ip_hash = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    referrer = models.CharField(max_length=1024, blank=True)
    sub1 = models.CharField(max_length=255, blank=True)
    sub2 = models.CharField(max_length=255, blank=True)
    sub3 = models.CharField(max_length=255, blank=True)
    sub4 = models.CharField(max_length=255, blank=True)
    sub5 = models.CharField(max_length=255, blank=True)
    is_unique = models.BooleanField(default=False)
    is_bot = models.BooleanField(default=False)
    # The offer's state when clicked: "active", or "paused"/"expired"/"scheduled"/"archived" (link, offer or
    # member archived); all but "active" are sent to the fallback URL.
    offer_state = models.CharField(max_length=10, default="active")
    destination = models.CharField(max_length=2000, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["transaction_id", "created_at"], name="click_transaction_id")]
        indexes = [
            # Reports and lists: a workspace's clicks by time.
            models.Index(fields=["workspace", "created_at"], name="click_ws_created"),
            # Offer page chart and member page: clicks per offer/member over time.
            models.Index(fields=["offer", "created_at"], name="click_offer_created"),
            models.Index(fields=["member", "created_at"], name="click_member_created"),
            # Top paths report: one visitor's (hashed IP's) earlier clicks.
            models.Index(fields=["workspace", "ip_hash", "created_at"], name="click_ws_visitor_created"),
        ]

    @property
    def is_counted(self) -> bool:
        return not self.is_bot


class ConversionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REVERSED = "reversed", "Reversed"
    REJECTED = "rejected", "Rejected"


class ConversionSource(models.TextChoices):
    POSTBACK = "postback", "Server postback"
    PIXEL = "pixel", "Image pixel"
    API_SYNC = "api_sync", "API sync"
    MANUAL = "manual", "Manual"
    TEST = "test", "Test"


class AttributedBy(models.TextChoices):
    """What tied a conversion to its member; "" when nothing did (unattributed)."""

    CLICK = "click", "Link click"
    CODE = "code", "Promo code"
    AFFILIATE = "member", "Affiliate id"
    MANUAL = "manual", "Manager"


class Conversion(TimeStamped):
    """A sale, lead or install reported by a network.

    ``dedupe_key`` is the network's own conversion id when it sends one, else
    ``tid:<transaction_id>`` (with the sale's fingerprint when the offer allows several
    conversions per click); the unique constraint on it is what makes retried
    postbacks and a postback plus an API sync of one sale a single conversion.
    ``single_per_transaction`` marks the conversion that owns its click's id-less slot
    (tracking/attribution.py has the rules).
    """

    # Led by the dedupe constraint and the indexes below, so no index of its own.
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey(NetworkConnection, models.PROTECT, null=True, blank=True, related_name="+")
    network = models.CharField(max_length=12)
    dedupe_key = models.CharField(max_length=300)
    transaction_id = models.CharField(max_length=255, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    # Kept by the application, not the database: clicks are partitioned (tracking/partitions.py),
    # and retention keeps every click a conversion points at (tracking/services/retention.py).
    click = models.ForeignKey(
        Click, models.SET_NULL, null=True, blank=True, related_name="conversions", db_constraint=False
    )
    offer = models.ForeignKey(Offer, models.SET_NULL, null=True, blank=True, related_name="conversions")
    member = models.ForeignKey(
        Member, models.SET_NULL, null=True, blank=True, related_name="conversions", db_index=False
    )  # led by conv_member_status
    # The click's conversion for hits without a network id: the first conversion on a transaction id.
    single_per_transaction = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=ConversionStatus.choices, default=ConversionStatus.PENDING)
    status_reason = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=10, choices=ConversionSource.choices)
    currency = models.CharField(max_length=3)
    sale_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    network_payout = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    member_payout = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    # How member_payout was computed (payout option, override, inputs), for the detail page.
    payout_basis = models.JSONField(default=dict, blank=True)
    event_at = models.DateTimeField(default=timezone.now)
    locking_at = models.DateTimeField(null=True, blank=True)
    affiliate_id_given = models.CharField(max_length=64, blank=True)
    affiliate_mismatch = models.BooleanField(default=False)
    # The promo code the network reported (as sent), what attributed the conversion, and
    # whether the code belongs to another member than the click that won.
    promo_code = models.CharField(max_length=64, blank=True, default="")
    attributed_by = models.CharField(max_length=8, choices=AttributedBy.choices, blank=True, default="")
    promo_code_mismatch = models.BooleanField(default=False)
    # The brand's order id as the network reported it: the same order reported twice (by two
    # networks, two connections, or a postback and a batch record) is held for review (risk).
    order_ref = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "network", "dedupe_key"], name="conversion_dedupe"),
            models.UniqueConstraint(
                fields=["workspace", "network", "transaction_id"],
                condition=models.Q(single_per_transaction=True) & ~models.Q(transaction_id=""),
                name="conversion_one_per_transaction",
            ),
            models.CheckConstraint(
                condition=models.Q(sale_amount__gte=0, network_payout__gte=0, member_payout__gte=0),
                name="conversion_amounts_gte_0",
            ),
        ]
        indexes = [
            # Conversions list and reports: a workspace's conversions by event time.
            models.Index(fields=["workspace", "event_at"], name="conv_ws_event"),
            # Member page and payments: a member's conversions.
            models.Index(fields=["member", "status"], name="conv_member_status"),
            # Postback/sync attribution by our transaction id.
            models.Index(fields=["workspace", "transaction_id"], name="conv_ws_tid"),
        ]

    @property
    def is_attributed(self) -> bool:
        return self.member_id is not None


class ConversionItem(models.Model):
    """One line of a conversion's order (SKU, category, quantity, the line's sale), as the network reported it.

    Stored when the conversion is created; the payout maths of each line is in the
    conversion's ``payout_basis["items"]``.
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    conversion = models.ForeignKey(Conversion, models.CASCADE, related_name="items")
    sku = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=255, blank=True)
    category = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    # The line's sale amount and the network's commission on it, when the network gives them.
    sale_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    network_payout = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)


class ConversionChange(models.Model):
    """History of a conversion: every status, amount or payout change, with its cause."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    conversion = models.ForeignKey(Conversion, models.CASCADE, related_name="changes")
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=ConversionSource.choices)
    # Kept by the application (the postback log is partitioned); pruning the log clears it.
    postback = models.ForeignKey(
        "PostbackLog", models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    # {"status": ["pending", "approved"], "sale_amount": ["10.00", "12.00"], ...}
    changes = models.JSONField(default=dict)
    note = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=150, blank=True)


class ConversionAlias(models.Model):
    """A key a conversion was stored under before a network record adopted it.

    A pixel or an id-less postback is stored as ``tid:<transaction_id>``; when the
    network's record of that sale arrives, the conversion takes the network's id as its
    key and the old key lands here, so a late retry of the id-less hit still finds it.
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    network = models.CharField(max_length=12)
    key = models.CharField(max_length=300)
    conversion = models.ForeignKey(Conversion, models.CASCADE, related_name="aliases")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "network", "key"], name="conversion_alias_key"),
        ]


class PostbackLog(models.Model):
    """Every inbound postback or pixel hit, stored before anything else can fail."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        DUPLICATE = "duplicate", "Duplicate"
        UPDATED = "updated", "Updated"
        UNATTRIBUTED = "unattributed", "Unknown transaction"
        REJECTED = "rejected", "Rejected"

    # Null only for hits whose secret matched no connection (kept for operators). Led by
    # pb_ws_received, so no index of its own.
    workspace = models.ForeignKey(Workspace, models.CASCADE, null=True, blank=True, related_name="+", db_index=False)
    connection = models.ForeignKey(NetworkConnection, models.SET_NULL, null=True, blank=True, related_name="+")
    # Unique with received_at (the partition key; see Meta).
    code = models.UUIDField(default=uuid.uuid4, editable=False)
    received_at = models.DateTimeField(default=timezone.now)
    network = models.CharField(max_length=12)
    method = models.CharField(max_length=8)
    is_pixel = models.BooleanField(default=False)
    # Fired by the "send test conversion" button rather than by the network.
    is_test = models.BooleanField(default=False)
    # The HTTP status the hit was answered with (pixels always get a 200 GIF; this is what a postback would get).
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    query = models.TextField(blank=True)
    body = models.TextField(blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    reason = models.CharField(max_length=500, blank=True)
    conversion = models.ForeignKey(Conversion, models.SET_NULL, null=True, blank=True, related_name="postbacks")
    replay_of = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="replays", db_constraint=False
    )

    class Meta:
        # Partitioned by month of received_at on PostgreSQL (tracking/partitions.py).
        constraints = [models.UniqueConstraint(fields=["code", "received_at"], name="postbacklog_code")]
        indexes = [
            # Postback log page: newest hits of a workspace, filterable by outcome.
            models.Index(fields=["workspace", "-received_at"], name="pb_ws_received"),
            models.Index(fields=["workspace", "outcome", "-received_at"], name="pb_ws_outcome"),
        ]


class ConversionEvent(models.Model):
    """Outbox: one row per money-relevant conversion change, written in the same
    transaction as the change. The payments app consumes rows in id order and
    posts ledger transactions keyed by the event; ``processed_at`` marks done.

    Contract (stable; tracking/services.py is the only writer):
    - ``kind``: "created" (a new conversion), "status_changed" (status moved, maybe
      with amounts), "amount_changed" (sale amount, network payout or member payout
      changed), "attributed" (member/offer/click set or changed by a manager),
      "adopted" (a conversion that came without a network id took the network's
      record: its id, status, amounts and locking date).
    - ``before`` / ``after``: snapshots with the keys "status", "sale_amount",
      "network_payout", "member_payout" (amounts as decimal strings, 2 places),
      "member_id" (int or null), "currency" (ISO 4217), "connection_id" (int or
      null) and "source" (how the conversion first arrived; "test" for test
      conversions). ``before`` is {} for "created".
    - The ledger effect of an event is the difference between ``after`` and
      ``before``; ``kind`` only says why. Events of one conversion are written in
      the order the changes happened, under a row lock on the conversion.
    """

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STATUS_CHANGED = "status_changed", "Status changed"
        AMOUNT_CHANGED = "amount_changed", "Amount changed"
        ATTRIBUTED = "attributed", "Attributed"
        ADOPTED = "adopted", "Adopted by a network record"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    conversion = models.ForeignKey(Conversion, models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # Snapshot before and after: status, network_payout, member_payout, member id, currency.
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The writing transaction, for readers other than the ledger (see workspaces.outbox).
    txid = outbox_txid_field()

    class Meta:
        # Partitioned by month of created_at on PostgreSQL (tracking/partitions.py).
        indexes = [
            # Consumer and sweeper: unprocessed events in order.
            models.Index(fields=["id"], condition=models.Q(processed_at__isnull=True), name="convevent_unprocessed"),
            # Outbox readers (webhooks, member postbacks, rules): finished transactions in order.
            models.Index(fields=["txid", "id"], name="convevent_outbox_order"),
        ]


class RetentionHorizon(models.Model):
    """How far back a pruned table still holds every row: rows before ``pruned_before`` were
    pruned (clicks a conversion points at excepted). Written by tracking/services/retention.py;
    reports keep their click figures for days before the clicks' horizon."""

    table = models.CharField(max_length=63, unique=True)
    pruned_before = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
