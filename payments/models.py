"""Money: a double-entry ledger, network settlements and member payments.

Ledger conventions: every entry carries a signed amount, positive for a debit and
negative for a credit, so a transaction balances when its entries sum to zero per
currency, and an account's cached ``balance`` is the plain sum of its entries.
Accounts whose normal balance is a credit (member payables, income, card funding)
are shown with the sign flipped (see ``Account.display_balance``).

PostgreSQL enforces the rules too (migration 0002): a deferred constraint trigger
refuses, at commit, any transaction whose entries do not balance per currency or
that has fewer than two entries, and entries and transactions refuse UPDATE and
DELETE (corrections are reversing transactions).
"""

import uuid
from decimal import Decimal

from django.db import models
from django.utils import timezone

from offers.models import Member, NetworkConnection
from tracking.models import Conversion
from workspaces.models import TimeStamped, Workspace

ZERO = Decimal("0.00")


class AccountKind(models.TextChoices):
    RECEIVABLE = "receivable", "Receivable from network"
    IN_TRANSIT = "in_transit", "Funds in transit"
    AVAILABLE = "available", "Available balance"
    PAYABLE = "payable", "Member payable"
    HELD = "held", "Member payable on hold"
    INCOME = "income", "Commission income"
    EXPENSE = "expense", "Creator expense"
    CARD_FUNDING = "card_funding", "Card funding"
    DIFFERENCE = "difference", "Settlement differences"


# Accounts whose natural balance is a credit; shown negated.
CREDIT_NORMAL = {AccountKind.PAYABLE, AccountKind.HELD, AccountKind.INCOME, AccountKind.CARD_FUNDING}
# Kinds with one account per member (and currency).
MEMBER_KINDS = [AccountKind.PAYABLE, AccountKind.HELD]
# Kinds with exactly one account per workspace and currency.
SINGLETON_KINDS = [k for k in AccountKind.values if k != AccountKind.RECEIVABLE and k not in MEMBER_KINDS]


class Account(models.Model):
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=AccountKind.choices)
    currency = models.CharField(max_length=3)
    connection = models.ForeignKey(NetworkConnection, models.PROTECT, null=True, blank=True, related_name="+")
    member = models.ForeignKey(Member, models.PROTECT, null=True, blank=True, related_name="+")
    # Sum of this account's entries (debits positive), kept up to date with F() in the posting transaction.
    balance = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "currency", "connection"],
                condition=models.Q(kind="receivable"),
                name="account_receivable_once",
            ),
            models.UniqueConstraint(
                fields=["workspace", "currency", "member"],
                condition=models.Q(kind="payable"),
                name="account_payable_once",
            ),
            models.UniqueConstraint(
                fields=["workspace", "currency", "member"],
                condition=models.Q(kind="held"),
                name="account_held_once",
            ),
            models.UniqueConstraint(
                fields=["workspace", "kind", "currency"],
                condition=models.Q(kind__in=SINGLETON_KINDS),
                name="account_singleton_once",
            ),
            models.CheckConstraint(
                condition=(
                    (models.Q(kind="receivable") & models.Q(connection__isnull=False) & models.Q(member__isnull=True))
                    | (
                        models.Q(kind__in=MEMBER_KINDS)
                        & models.Q(member__isnull=False)
                        & models.Q(connection__isnull=True)
                    )
                    | (models.Q(kind__in=SINGLETON_KINDS) & models.Q(member__isnull=True, connection__isnull=True))
                ),
                name="account_owner_matches_kind",
            ),
            # The last line of defence behind the payment service's locked check.
            models.CheckConstraint(
                condition=~models.Q(kind="available") | models.Q(balance__gte=0),
                name="account_available_not_negative",
            ),
        ]

    def __str__(self):
        owner = self.member or self.connection
        return f"{self.get_kind_display()}{f' · {owner}' if owner else ''} ({self.currency})"

    @property
    def is_credit_normal(self) -> bool:
        return self.kind in CREDIT_NORMAL

    @property
    def display_balance(self) -> Decimal:
        return -self.balance if self.is_credit_normal else self.balance


class TxnKind(models.TextChoices):
    CONVERSION = "conversion", "Conversion"
    SETTLEMENT_RECEIVED = "settlement_received", "Settlement received"
    CREDIT = "credit", "Balance credited"
    PAYMENT = "payment", "Payment sent"
    PAYMENT_FAILED = "payment_failed", "Payment failed or returned"
    CARD_FUNDING = "card_funding", "Funded by card"
    CORRECTION = "correction", "Correction"
    HOLD = "hold", "Put on hold"
    RELEASE = "release", "Released from hold"
    PAID_CLICKS = "paid_clicks", "Paid clicks"


class LedgerTransaction(models.Model):
    """One balanced posting. ``key`` names its cause so that it posts exactly once."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    key = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=TxnKind.choices)
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    conversion = models.ForeignKey(Conversion, models.PROTECT, null=True, blank=True, related_name="+")
    settlement = models.ForeignKey("Settlement", models.PROTECT, null=True, blank=True, related_name="+")
    payment = models.ForeignKey("Payment", models.PROTECT, null=True, blank=True, related_name="+")
    reverses = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="reversals")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="ledgertxn_key_once")]
        indexes = [
            # Ledger export and statements: a workspace's transactions in posting order.
            models.Index(fields=["workspace", "created_at"], name="ledgertxn_ws_created"),
        ]

    def __str__(self):
        return f"{self.key} ({self.kind})"


class Hold(models.Model):
    """A conversion whose member payout is kept out of the payable balance until released.

    While a hold is active, the conversion's member payout sits in the member's "on hold"
    account: holding moves what was already payable there, and the outbox consumer posts
    later changes of the conversion there too; releasing moves it back (payments/services/holds.py).
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    conversion = models.ForeignKey(Conversion, models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversion"], condition=models.Q(released_at__isnull=True), name="hold_active_once"
            ),
        ]
        indexes = [
            # Statements and the overview: a workspace's active holds.
            models.Index(fields=["workspace", "released_at"], name="hold_ws_released"),
        ]

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class MemberHold(models.Model):
    """A member put on hold as a whole: never paid while it lasts (and the fraud rules hold their new conversions)."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    member = models.OneToOneField(Member, models.CASCADE, related_name="payment_hold")
    reason = models.CharField(max_length=500)
    held_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


class Entry(models.Model):
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    transaction = models.ForeignKey(LedgerTransaction, models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, models.PROTECT, related_name="entries")
    # Positive: debit; negative: credit.
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="entry_amount_not_zero")]
        indexes = [
            # Statements and checkledger: an account's entries in posting order.
            models.Index(fields=["account", "id"], name="entry_account_id"),
        ]


class Settlement(TimeStamped):
    """One payment a network makes (or will make) to the brand."""

    class Status(models.TextChoices):
        EXPECTED = "expected", "Expected"
        RECEIVED = "received", "Received"
        CREDITED = "credited", "Credited"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey(NetworkConnection, models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    # Conversions locked before ``cut_off`` are paid on ``expected_on``.
    cut_off = models.DateTimeField()
    expected_on = models.DateField()
    expected_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.EXPECTED)
    received_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    received_on = models.DateField(null=True, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    received_by = models.CharField(max_length=150, blank=True)
    # Two-person receipts: a receipt above the workspace's threshold is credited only once
    # someone other than ``received_by`` confirms it.
    needs_confirmation = models.BooleanField(default=False)
    confirmed_by = models.CharField(max_length=150, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    credit_due_on = models.DateField(null=True, blank=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    # What the network's own data says it paid for this settlement (matched by match_network_payouts),
    # for finance to confirm.
    network_payout = models.OneToOneField(
        "networks.NetworkPayout", models.SET_NULL, null=True, blank=True, related_name="settlement"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "expected_on", "currency"], name="settlement_once"),
            models.CheckConstraint(
                condition=models.Q(expected_amount__gte=0)
                & (models.Q(received_amount__isnull=True) | models.Q(received_amount__gte=0)),
                name="settlement_amounts_gte_0",
            ),
        ]
        indexes = [
            # Crediting task: received settlements falling due.
            models.Index(fields=["status", "credit_due_on"], name="settlement_status_due"),
            # Payments Overview: a workspace's settlements by date.
            models.Index(fields=["workspace", "expected_on"], name="settlement_ws_expected"),
        ]

    def __str__(self):
        return f"{self.connection.label} {self.expected_on} ({self.currency})"

    @property
    def difference(self) -> Decimal | None:
        if self.received_amount is None:
            return None
        return self.received_amount - self.expected_amount


class SettlementLine(models.Model):
    """A conversion covered by a settlement; a conversion is in at most one."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    settlement = models.ForeignKey(Settlement, models.CASCADE, related_name="lines")
    conversion = models.OneToOneField(Conversion, models.PROTECT, related_name="settlement_line")
    amount = models.DecimalField(max_digits=14, decimal_places=2)


class FundingCard(TimeStamped):
    """A card the brand linked to fund payment runs that exceed the available balance.

    The hub stores no card number: the brand's card processor holds it; we keep a
    label, the last four digits for recognition, and a monthly limit. Each run it
    tops up posts Dr available / Cr card funding, so the ledger shows what the
    card paid.
    """

    workspace = models.OneToOneField(Workspace, models.CASCADE, related_name="+")
    label = models.CharField(max_length=80)
    last4 = models.CharField(max_length=4)
    currency = models.CharField(max_length=3)
    monthly_limit = models.DecimalField(max_digits=14, decimal_places=2)
    linked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(monthly_limit__gt=0), name="card_limit_gt_0"),
            models.CheckConstraint(condition=models.Q(last4__regex=r"^[0-9]{4}$"), name="card_last4_digits"),
        ]

    def __str__(self):
        return f"{self.label} ending {self.last4}"


class Rail(models.TextChoices):
    MANUAL = "manual", "Manual (recorded external payment)"
    PAYPAL = "paypal", "PayPal Payouts"


class TwoPersonRule(TimeStamped):
    """Money above a threshold needs a second finance user: payment runs before they are sent,
    settlement receipts before they are credited to the balance.

    Thresholds are in ``currency``; a run or receipt in any other currency always needs the
    second person while that threshold is set (no exchange rate decides for finance).
    None switches that half of the rule off.
    """

    workspace = models.OneToOneField(Workspace, models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    threshold = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    settlement_threshold = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    set_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(threshold__isnull=True) | models.Q(threshold__gte=0))
                & (models.Q(settlement_threshold__isnull=True) | models.Q(settlement_threshold__gte=0)),
                name="twoperson_thresholds_gte_0",
            )
        ]

    def needs_approval(self, *, currency: str, total: Decimal) -> bool:
        return self.threshold is not None and (currency != self.currency or total > self.threshold)

    def needs_confirmation(self, *, currency: str, amount: Decimal) -> bool:
        limit = self.settlement_threshold
        return limit is not None and (currency != self.currency or amount > limit)


class PaymentBatch(TimeStamped):
    """One payment run: one or many members paid together on one rail."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting", "Awaiting a second approver"
        DECLINED = "declined", "Declined by the approver"
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # From the form (or derived from a retried payment): a double submit finds the same run.
    idempotency_key = models.CharField(max_length=80)
    rail = models.CharField(max_length=10, choices=Rail.choices)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    status_message = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    # Two-person payments: who approved (or declined) a run prepared by ``created_by``, and when.
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    # PayPal: payout_batch_id returned for our sender_batch_id (= idempotency_key).
    external_id = models.CharField(max_length=64, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "idempotency_key"], name="batch_key_once"),
        ]
        indexes = [
            # Payment history: a workspace's runs, newest first.
            models.Index(fields=["workspace", "-created_at"], name="batch_ws_created"),
            # Polling task: runs still waiting on the rail.
            models.Index(fields=["rail", "status"], name="batch_rail_status"),
        ]

    def __str__(self):
        return f"{self.get_rail_display()} {self.created_at:%Y-%m-%d} ({self.total} {self.currency})"


class Payment(TimeStamped):
    """Money sent to one member within a batch."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        UNCLAIMED = "unclaimed", "Unclaimed"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        RETURNED = "returned", "Returned"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    batch = models.ForeignKey(PaymentBatch, models.PROTECT, related_name="payments")
    member = models.ForeignKey(Member, models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    rail = models.CharField(max_length=10, choices=Rail.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    status_message = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=120)
    receiver = models.CharField(max_length=254, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    retry_of = models.OneToOneField("self", models.PROTECT, null=True, blank=True, related_name="retried_by")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "idempotency_key"], name="payment_key_once"),
            models.UniqueConstraint(fields=["batch", "member"], name="payment_member_once_per_batch"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_gt_0"),
        ]
        indexes = [
            # Statements and the members table: a member's payments, newest first.
            models.Index(fields=["member", "-created_at"], name="payment_member_created"),
        ]

    @property
    def gave_money_back(self) -> bool:
        return self.status in (self.Status.FAILED, self.Status.RETURNED)
