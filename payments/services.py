"""Writes of the payments app: the outbox consumer, settlements, crediting and payments."""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from networks.models import NetworkPayout
from offers.models import Member, NetworkConnection
from payments import lib
from payments.ledger import get_account, lock_account, post_transaction, reverse_transaction
from payments.models import (
    ZERO,
    Account,
    AccountKind,
    Entry,
    FundingCard,
    LedgerTransaction,
    Payment,
    PaymentBatch,
    Rail,
    Settlement,
    SettlementLine,
    TxnKind,
)
from tracking.models import Conversion, ConversionEvent, ConversionSource, ConversionStatus
from workspaces.errors import DomainError
from workspaces.models import Workspace

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------
# Conversions -> ledger (the outbox consumer)
# ---------------------------------------------------------------------------


def _money_effect(snapshot: dict) -> dict[tuple, Decimal]:
    """What an approved conversion in this state is worth, per (kind, currency, owner id).

    Only approved conversions carry money: the network payout is receivable (against
    commission income) and, once attributed, the member payout is payable (against
    creator expense). Pending, reversed and rejected are worth nothing.
    """
    if not snapshot or snapshot.get("status") != ConversionStatus.APPROVED:
        return {}
    currency = (snapshot.get("currency") or "").upper()
    if not currency:
        return {}
    network = Decimal(snapshot.get("network_payout") or "0")
    member_payout = Decimal(snapshot.get("member_payout") or "0")
    effect: dict[tuple, Decimal] = {}
    if network and snapshot.get("connection_id"):
        effect[(AccountKind.RECEIVABLE, currency, snapshot["connection_id"])] = network
        effect[(AccountKind.INCOME, currency, None)] = -network
    if member_payout and snapshot.get("member_id"):
        effect[(AccountKind.EXPENSE, currency, None)] = member_payout
        effect[(AccountKind.PAYABLE, currency, snapshot["member_id"])] = -member_payout
    return effect


def ledger_legs_for_event(*, workspace: Workspace, before: dict, after: dict) -> list:
    """The legs that move the ledger from ``before``'s worth to ``after``'s.

    Posting differences makes the sum over a conversion's events telescope to its
    current worth: an amount change posts the change, a reversal posts the
    negative (after the member was paid that leaves a negative payable, a
    clawback later earnings offset), a re-attribution moves the payable.
    """
    old, new = _money_effect(before), _money_effect(after)
    legs = []
    for slot in sorted(set(old) | set(new), key=str):
        delta = new.get(slot, ZERO) - old.get(slot, ZERO)
        if not delta:
            continue
        kind, currency, owner_id = slot
        owner = {}
        if kind == AccountKind.RECEIVABLE:
            owner["connection"] = NetworkConnection.objects.get(workspace=workspace, pk=owner_id)
        elif kind == AccountKind.PAYABLE:
            owner["member"] = Member.objects.get(workspace=workspace, pk=owner_id)
        legs.append((get_account(workspace=workspace, kind=kind, currency=currency, **owner), delta))
    return legs


def conversion_memo(conversion: Conversion, event: ConversionEvent) -> str:
    """What a statement line says about a conversion event, in words ("Conversion DEMO-1 approved")."""
    name = f"Conversion {conversion.external_id or conversion.transaction_id or conversion.code}"
    after = (event.after or {}).get("status", "")
    if event.kind == ConversionEvent.Kind.CREATED:
        return f"{name} recorded ({after})"
    if event.kind == ConversionEvent.Kind.STATUS_CHANGED:
        return f"{name} {'back to pending' if after == 'pending' else after}"
    if event.kind == ConversionEvent.Kind.AMOUNT_CHANGED:
        return f"{name}: amount changed"
    if event.kind == ConversionEvent.Kind.ATTRIBUTED:
        return f"{name} attributed"
    if event.kind == ConversionEvent.Kind.ADOPTED:
        return f"{name} matched to the network's record ({after})"
    return f"{name}: {event.get_kind_display().lower()}"


def post_conversion_event(*, event: ConversionEvent) -> LedgerTransaction | None:
    """Post one event's ledger effect under "convevent:<id>" (test conversions carry no money)."""
    conversion = event.conversion
    if conversion.source == ConversionSource.TEST:
        return None
    legs = ledger_legs_for_event(workspace=event.workspace, before=event.before or {}, after=event.after or {})
    txn, _ = post_transaction(
        workspace=event.workspace,
        key=f"convevent:{event.pk}",
        kind=TxnKind.CONVERSION,
        legs=legs,
        memo=conversion_memo(conversion, event),
        conversion=conversion,
    )
    return txn


def process_next_conversion_event_all_workspaces(*, after_id: int = 0) -> tuple[int, bool] | None:
    """Claim the oldest unprocessed event after ``after_id``, post it and mark it done, in one transaction.

    Returns (event id, posted), or None when nothing was left to claim. SKIP
    LOCKED lets several workers drain the outbox side by side without waiting on
    each other's rows. An event whose posting fails is rolled back to its
    savepoint and stays unprocessed (the stale-event sweeper reports it); the
    caller moves past it so it does not block the events behind it.
    """
    with transaction.atomic():
        event = (
            ConversionEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("conversion", "workspace")
            .filter(processed_at__isnull=True, id__gt=after_id)
            .order_by("id")
            .first()
        )
        if event is None:
            return None
        try:
            with transaction.atomic():
                post_conversion_event(event=event)
        except Exception:
            log.exception("could not post conversion event %s", event.pk)
            return event.pk, False
        ConversionEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now())
    return event.pk, True


def process_conversion_events_all_workspaces(*, limit: int = 500) -> int:
    """Drain up to ``limit`` events in id order; returns how many were posted."""
    processed = 0
    after_id = 0
    for _ in range(limit):
        claimed = process_next_conversion_event_all_workspaces(after_id=after_id)
        if claimed is None:
            break
        after_id, posted = claimed
        processed += posted
    return processed


def count_stale_conversion_events_all_workspaces(*, older_than: timedelta = timedelta(minutes=3)) -> int:
    return ConversionEvent.objects.filter(processed_at__isnull=True, created_at__lt=timezone.now() - older_than).count()


# ---------------------------------------------------------------------------
# Settlements
# ---------------------------------------------------------------------------


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


@transaction.atomic
def refresh_expected_settlement(*, connection: NetworkConnection, today: date) -> list[Settlement]:
    """Create or top up the expected settlements of ``connection``'s next pay date.

    Covers approved conversions locked before the cut-off that are in no
    settlement yet; drops lines whose conversion stopped being approved and
    refreshes line amounts while the settlement is still expected.
    """
    pay_date = lib.next_pay_date(today, connection.settlement_day)
    cut_off = _midnight(lib.settlement_cut_off(connection.kind, pay_date))
    ws = connection.workspace
    for settlement in Settlement.objects.select_for_update().filter(
        connection=connection, status=Settlement.Status.EXPECTED
    ):
        _refresh_lines(settlement)
    candidates = (
        Conversion.objects.filter(
            workspace=ws,
            connection=connection,
            status=ConversionStatus.APPROVED,
            locking_at__lt=cut_off,
            settlement_line__isnull=True,
            network_payout__gt=0,
        )
        .exclude(source=ConversionSource.TEST)
        .order_by("id")
    )
    touched = {}
    for conversion in candidates:
        currency = conversion.currency.upper()
        settlement = touched.get(currency)
        if settlement is None:
            settlement, _ = Settlement.objects.get_or_create(
                workspace=ws,
                connection=connection,
                expected_on=pay_date,
                currency=currency,
                defaults={"cut_off": cut_off},
            )
            if settlement.status != Settlement.Status.EXPECTED:
                # Already received for that date: the conversion waits for the next one.
                continue
            touched[currency] = settlement
        try:
            with transaction.atomic():
                SettlementLine.objects.create(
                    workspace=ws, settlement=settlement, conversion=conversion, amount=conversion.network_payout
                )
        except IntegrityError:
            continue  # claimed by a concurrent run
    for settlement in touched.values():
        _refresh_lines(settlement)
    return list(touched.values())


def _refresh_lines(settlement: Settlement) -> None:
    for line in settlement.lines.select_related("conversion"):
        conversion = line.conversion
        if conversion.status != ConversionStatus.APPROVED:
            line.delete()
        elif line.amount != conversion.network_payout:
            line.amount = conversion.network_payout
            line.save(update_fields=["amount"])
    total = settlement.lines.aggregate(t=Sum("amount"))["t"] or ZERO
    if total != settlement.expected_amount:
        settlement.expected_amount = total
        settlement.save(update_fields=["expected_amount", "updated_at"])


# The window around a pay date in which a network's reported payment is taken to be that settlement's.
# Two weeks early: Awin runs payments on the 1st and the 15th (a settlement is expected on the 15th),
# and a payment is dated the day a sync first saw it.
PAYOUT_EARLY = timedelta(days=14)
PAYOUT_LATE = timedelta(days=21)


def match_network_payout(*, settlement: Settlement) -> NetworkPayout | None:
    """Tie the payment the network's own data reports (a ShareASale payment row, an Awin payment
    run) to this settlement: the same connection and currency, paid within two weeks before to three
    weeks after the pay date, not tied to another settlement; the closest date wins.

    Finance still confirms it by marking the settlement received (the form is filled from it).
    """
    if settlement.network_payout_id or settlement.status != Settlement.Status.EXPECTED:
        return settlement.network_payout
    candidates = NetworkPayout.objects.filter(
        workspace_id=settlement.workspace_id,
        connection_id=settlement.connection_id,
        currency=settlement.currency,
        paid_on__gte=settlement.expected_on - PAYOUT_EARLY,
        paid_on__lte=settlement.expected_on + PAYOUT_LATE,
        settlement__isnull=True,
    )
    best = min(
        candidates,
        key=lambda p: (abs((p.paid_on - settlement.expected_on).days), abs(p.amount - settlement.expected_amount)),
        default=None,
    )
    if best is None:
        return None
    with transaction.atomic():
        claimed = Settlement.objects.filter(pk=settlement.pk, network_payout__isnull=True).update(network_payout=best)
    if claimed:
        settlement.network_payout = best
    return settlement.network_payout


def match_network_payouts_all_workspaces() -> int:
    """Nightly, after the expected settlements are refreshed: match what networks reported paying."""
    matched = 0
    for settlement in Settlement.objects.filter(status=Settlement.Status.EXPECTED, network_payout__isnull=True):
        try:
            matched += match_network_payout(settlement=settlement) is not None
        except IntegrityError:
            continue  # the payout was tied to another settlement meanwhile
    return matched


def create_expected_settlements_all_workspaces(*, today: date | None = None) -> int:
    today = today or timezone.localdate()
    created = 0
    for connection in NetworkConnection.objects.select_related("workspace").exclude(
        status=NetworkConnection.Status.PAUSED
    ):
        created += len(refresh_expected_settlement(connection=connection, today=today))
    return created


@transaction.atomic
def mark_settlement_received(
    *, settlement: Settlement, amount: Decimal, received_on: date, reference: str = "", actor: str = ""
) -> Settlement:
    """Receivable -> funds in transit; a difference from the expected amount is booked explicitly."""
    settlement = Settlement.objects.select_for_update().select_related("workspace", "connection").get(pk=settlement.pk)
    if settlement.status != Settlement.Status.EXPECTED:
        raise DomainError("This settlement was already marked received.")
    amount = lib.money(amount)
    if amount < 0:
        raise DomainError("The amount received cannot be negative.")
    if received_on > timezone.localdate() + timedelta(days=1):
        raise DomainError("The date received cannot be in the future.")
    _refresh_lines(settlement)
    ws, currency = settlement.workspace, settlement.currency
    expected = settlement.expected_amount
    if amount == 0 and expected == 0:
        raise DomainError("Nothing was expected and nothing was received.")
    legs = [
        (get_account(workspace=ws, kind=AccountKind.IN_TRANSIT, currency=currency), amount),
        (
            get_account(workspace=ws, kind=AccountKind.RECEIVABLE, currency=currency, connection=settlement.connection),
            -expected,
        ),
        (get_account(workspace=ws, kind=AccountKind.DIFFERENCE, currency=currency), expected - amount),
    ]
    post_transaction(
        workspace=ws,
        key=f"settlement-received:{settlement.pk}",
        kind=TxnKind.SETTLEMENT_RECEIVED,
        legs=legs,
        memo=f"{settlement.connection.label} settlement of {settlement.expected_on} received"
        + (f" (ref {reference})" if reference else ""),
        settlement=settlement,
    )
    settlement.status = Settlement.Status.RECEIVED
    settlement.received_amount = amount
    settlement.received_on = received_on
    settlement.reference = reference
    settlement.received_by = actor
    settlement.credit_due_on = lib.add_business_days(received_on, ws.crediting_delay_days, country=ws.holiday_country)
    settlement.save(
        update_fields=[
            "status",
            "received_amount",
            "received_on",
            "reference",
            "received_by",
            "credit_due_on",
            "updated_at",
        ]
    )
    return settlement


@transaction.atomic
def credit_settlement(*, settlement: Settlement) -> bool:
    """Funds in transit -> available balance. Claimed by a conditional update: runs once."""
    claimed = Settlement.objects.filter(pk=settlement.pk, status=Settlement.Status.RECEIVED).update(
        status=Settlement.Status.CREDITED, credited_at=timezone.now(), updated_at=timezone.now()
    )
    if claimed != 1:
        return False
    settlement = Settlement.objects.select_related("workspace", "connection").get(pk=settlement.pk)
    ws, currency, amount = settlement.workspace, settlement.currency, settlement.received_amount
    post_transaction(
        workspace=ws,
        key=f"credit:{settlement.pk}",
        kind=TxnKind.CREDIT,
        legs=[
            (get_account(workspace=ws, kind=AccountKind.AVAILABLE, currency=currency), amount),
            (get_account(workspace=ws, kind=AccountKind.IN_TRANSIT, currency=currency), -amount),
        ],
        memo=f"{settlement.connection.label} settlement of {settlement.expected_on} credited",
        settlement=settlement,
    )
    return True


def credit_due_settlements_all_workspaces(*, today: date | None = None) -> int:
    """Credit every received settlement whose crediting delay has passed by ``today``."""
    today = today or timezone.localdate()
    due = Settlement.objects.filter(status=Settlement.Status.RECEIVED, credit_due_on__lte=today).order_by("id")
    return sum(1 for settlement in due if credit_settlement(settlement=settlement))


# ---------------------------------------------------------------------------
# Payments
# ---------------------------------------------------------------------------


@dataclass
class PlanRow:
    member: Member
    amount: Decimal
    blocked: str = ""


@dataclass
class PaymentPlan:
    currency: str
    rail: str
    rows: list[PlanRow] = field(default_factory=list)
    available: Decimal = ZERO
    card: FundingCard | None = None
    card_headroom: Decimal = ZERO

    @property
    def payable_rows(self) -> list[PlanRow]:
        return [r for r in self.rows if not r.blocked]

    @property
    def blocked_rows(self) -> list[PlanRow]:
        return [r for r in self.rows if r.blocked]

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.payable_rows), ZERO)

    @property
    def shortfall(self) -> Decimal:
        """What the available balance lacks; a linked card may fund it up to its headroom."""
        return max(self.total - self.available, ZERO)

    @property
    def card_funds(self) -> Decimal:
        return self.shortfall if self.shortfall and self.shortfall <= self.card_headroom else ZERO

    @property
    def payable_now(self) -> bool:
        return bool(self.payable_rows) and (not self.shortfall or bool(self.card_funds))


def blocked_reason(*, member: Member, rail: str) -> str:
    if member.status != Member.Status.ACTIVE:
        return "Member is archived."
    if member.is_test:
        return "Test members are never paid."
    if rail == Rail.PAYPAL and not member.paypal_email:
        return "No PayPal email on file."
    return ""


def plan_payment_run(
    *, workspace: Workspace, currency: str, rail: str, member_ids=None, minimum: Decimal = ZERO
) -> PaymentPlan:
    """Who would be paid how much: each member's whole payable balance, at least ``minimum``."""
    accounts = Account.objects.filter(
        workspace=workspace, kind=AccountKind.PAYABLE, currency=currency, balance__lt=0
    ).select_related("member")
    if member_ids is not None:
        accounts = accounts.filter(member_id__in=list(member_ids))
    plan = PaymentPlan(currency=currency, rail=rail)
    for account in accounts.order_by("member__name", "member_id"):
        owed = -account.balance
        if owed < max(minimum or ZERO, Decimal("0.01")):
            continue
        plan.rows.append(
            PlanRow(member=account.member, amount=owed, blocked=blocked_reason(member=account.member, rail=rail))
        )
    available = Account.objects.filter(workspace=workspace, kind=AccountKind.AVAILABLE, currency=currency).first()
    plan.available = available.balance if available else ZERO
    plan.card = FundingCard.objects.filter(workspace=workspace, currency=currency).first()
    if plan.card is not None:
        plan.card_headroom = card_headroom(card=plan.card)
    return plan


# ---------------------------------------------------------------------------
# Card funding
# ---------------------------------------------------------------------------


def card_headroom(*, card: FundingCard, today: date | None = None) -> Decimal:
    """The card's monthly limit less what it funded since the 1st of this month."""
    today = today or timezone.localdate()
    used = Entry.objects.filter(
        workspace_id=card.workspace_id,
        account__kind=AccountKind.CARD_FUNDING,
        currency=card.currency,
        transaction__kind=TxnKind.CARD_FUNDING,
        transaction__created_at__gte=_midnight(today.replace(day=1)),
    ).aggregate(t=Sum("amount"))["t"]
    return max(card.monthly_limit + (used or ZERO), ZERO)


@transaction.atomic
def link_funding_card(
    *, workspace: Workspace, label: str, last4: str, monthly_limit: Decimal, actor: str = ""
) -> FundingCard:
    if not (len(last4) == 4 and last4.isdigit()):
        raise DomainError("Enter the last four digits of the card.")
    if monthly_limit <= 0:
        raise DomainError("The monthly limit must be above zero.")
    card, _ = FundingCard.objects.update_or_create(
        workspace=workspace,
        defaults={
            "label": label,
            "last4": last4,
            "monthly_limit": lib.money(monthly_limit),
            "currency": workspace.currency,
            "linked_by": actor,
        },
    )
    return card


def unlink_funding_card(*, workspace: Workspace) -> bool:
    deleted, _ = FundingCard.objects.filter(workspace=workspace).delete()
    return bool(deleted)


def create_payment_run(
    *,
    workspace: Workspace,
    idempotency_key: str,
    rail: str,
    currency: str,
    member_ids,
    minimum: Decimal = ZERO,
    reference: str = "",
    paid_on: date | None = None,
    actor: str = "",
    retry_of: Payment | None = None,
) -> tuple[PaymentBatch, bool]:
    """Pay the selected members' payable balances from the available balance.

    One transaction: the run row is inserted under its unique idempotency key
    first (a double submit waits on it, then finds the finished run); the
    available balance and each payable are locked (SELECT ... FOR UPDATE) and
    re-read, so a concurrent run can neither overdraw the balance nor pay the
    same payable again; then each payment posts Dr payable / Cr available.
    Returns (run, created).
    """
    if rail not in Rail.values:
        raise DomainError("Choose a payment rail.")
    if rail == Rail.MANUAL and not paid_on:
        raise DomainError("Give the date the payment was made.")
    if rail == Rail.PAYPAL and not paypal_configured():
        raise DomainError("PayPal is not configured: set PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET, or pay manually.")
    if not idempotency_key:
        raise DomainError("The form expired; open Make a Payment again.")
    currency = currency.upper()
    existing = PaymentBatch.objects.filter(workspace=workspace, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            batch = PaymentBatch.objects.create(
                workspace=workspace,
                idempotency_key=idempotency_key,
                rail=rail,
                currency=currency,
                created_by=actor,
                reference=reference if rail == Rail.MANUAL else "",
                paid_on=paid_on if rail == Rail.MANUAL else None,
                status=PaymentBatch.Status.COMPLETED if rail == Rail.MANUAL else PaymentBatch.Status.QUEUED,
            )
            _fill_batch(batch=batch, member_ids=member_ids, minimum=minimum or ZERO, retry_of=retry_of, paid_on=paid_on)
    except IntegrityError:
        existing = PaymentBatch.objects.filter(workspace=workspace, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    if rail == Rail.PAYPAL:
        from payments.tasks import send_paypal_batch as send_paypal_batch_task

        transaction.on_commit(lambda: send_paypal_batch_task.delay(batch.pk))
    return batch, True


def _fill_batch(*, batch: PaymentBatch, member_ids, minimum: Decimal, retry_of, paid_on) -> None:
    ws, currency = batch.workspace, batch.currency
    available = lock_account(get_account(workspace=ws, kind=AccountKind.AVAILABLE, currency=currency))
    payables = list(
        Account.objects.select_for_update(of=("self",))
        .filter(workspace=ws, kind=AccountKind.PAYABLE, currency=currency, member_id__in=list(member_ids))
        .select_related("member")
        .order_by("id")
    )
    lines = []
    for account in payables:
        owed = -account.balance
        if owed <= 0 or owed < minimum:
            continue
        if blocked_reason(member=account.member, rail=batch.rail):
            continue
        lines.append((account, owed))
    if not lines:
        raise DomainError("Nothing to pay: the selected members have no payable balance (or are blocked).")
    total = sum((owed for _, owed in lines), ZERO)
    if total > available.balance:
        _fund_by_card(batch=batch, available=available, shortfall=total - available.balance)
    for account, owed in lines:
        member = account.member
        payment = Payment.objects.create(
            workspace=ws,
            batch=batch,
            member=member,
            amount=owed,
            currency=currency,
            rail=batch.rail,
            status=Payment.Status.PAID if batch.rail == Rail.MANUAL else Payment.Status.PENDING,
            idempotency_key=f"{batch.idempotency_key}:{member.pk}",
            receiver=member.paypal_email if batch.rail == Rail.PAYPAL else "",
            reference=batch.reference,
            paid_on=paid_on if batch.rail == Rail.MANUAL else None,
            retry_of=retry_of if retry_of and retry_of.member_id == member.pk else None,
        )
        post_transaction(
            workspace=ws,
            key=f"payment:{payment.pk}",
            kind=TxnKind.PAYMENT,
            legs=[(account, owed), (available, -owed)],
            memo=f"Payment to {member.name} ({batch.get_rail_display()})",
            payment=payment,
        )
    batch.total = total
    batch.save(update_fields=["total", "updated_at"])


def paypal_configured() -> bool:
    return bool(settings.PAYPAL_CLIENT_ID and settings.PAYPAL_CLIENT_SECRET)


def _fund_by_card(*, batch: PaymentBatch, available: Account, shortfall: Decimal) -> None:
    """Top the balance up from the linked card, within its monthly limit, or refuse the run."""
    ws, currency = batch.workspace, batch.currency
    refusal = f"The total exceeds the available balance of {available.balance} {currency}"
    # Locked so two runs cannot both spend the same monthly headroom.
    card = FundingCard.objects.select_for_update().filter(workspace=ws, currency=currency).first()
    if card is None:
        raise DomainError(f"{refusal} by {shortfall} {currency}.")
    headroom = card_headroom(card=card)
    if shortfall > headroom:
        raise DomainError(
            f"{refusal} by {shortfall} {currency}, more than the {headroom} {currency} left this month on {card}."
        )
    post_transaction(
        workspace=ws,
        key=f"card-funding:{batch.pk}",
        kind=TxnKind.CARD_FUNDING,
        legs=[
            (available, shortfall),
            (get_account(workspace=ws, kind=AccountKind.CARD_FUNDING, currency=currency), -shortfall),
        ],
        memo=f"Charged to {card} for a payment run",
    )
    available.refresh_from_db(fields=["balance"])


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


@transaction.atomic
def fail_payment(*, payment: Payment, status: str, message: str = "") -> bool:
    """Give a failed or returned payment's money back to the member's payable (once)."""
    if status not in (Payment.Status.FAILED, Payment.Status.RETURNED):
        raise ValueError(status)
    claimed = (
        Payment.objects.filter(pk=payment.pk)
        .filter(Q(status=Payment.Status.PENDING) | Q(status=Payment.Status.UNCLAIMED) | Q(status=Payment.Status.PAID))
        .update(status=status, status_message=message[:500], updated_at=timezone.now())
    )
    if claimed != 1:
        return False
    original = LedgerTransaction.objects.get(workspace=payment.workspace, key=f"payment:{payment.pk}")
    reverse_transaction(
        original=original,
        key=f"payment-failed:{payment.pk}",
        kind=TxnKind.PAYMENT_FAILED,
        memo=f"Payment {status}: {message}"[:300],
    )
    return True


def retry_payment(*, payment: Payment, actor: str = "") -> PaymentBatch:
    """Pay a failed or returned payment's member again, in a new run with a new key."""
    if not payment.gave_money_back:
        raise DomainError("Only a failed or returned payment can be retried.")
    if Payment.objects.filter(retry_of=payment).exists():
        raise DomainError("This payment was already retried.")
    batch, _ = create_payment_run(
        workspace=payment.workspace,
        idempotency_key=f"retry:{payment.code}",
        rail=payment.rail,
        currency=payment.currency,
        member_ids=[payment.member_id],
        reference=payment.reference,
        paid_on=timezone.localdate() if payment.rail == Rail.MANUAL else None,
        actor=actor,
        retry_of=payment,
    )
    return batch


# PayPal item statuses (transaction_status) and what they mean for us.
PAYPAL_PAID = {"SUCCESS"}
PAYPAL_FAILED = {"FAILED", "BLOCKED", "DENIED", "REFUNDED", "REVERSED"}
PAYPAL_RETURNED = {"RETURNED"}
PAYPAL_UNCLAIMED = {"UNCLAIMED"}


def fail_batch(*, batch: PaymentBatch, message: str) -> PaymentBatch:
    """The rail refused the whole run: every pending payment gives its money back."""
    for payment in batch.payments.filter(status=Payment.Status.PENDING):
        fail_payment(payment=payment, status=Payment.Status.FAILED, message=message)
    PaymentBatch.objects.filter(pk=batch.pk).update(
        status=PaymentBatch.Status.FAILED, status_message=message[:500], updated_at=timezone.now()
    )
    return PaymentBatch.objects.get(pk=batch.pk)


def send_paypal_batch(*, batch: PaymentBatch, client) -> PaymentBatch:
    """Submit a queued PayPal run (safe to repeat: PayPal dedupes on sender_batch_id and PayPal-Request-Id)."""
    from payments.rails import PayPalError

    batch = PaymentBatch.objects.get(pk=batch.pk)
    if batch.status != PaymentBatch.Status.QUEUED:
        return batch
    payments = list(batch.payments.select_related("member").filter(status=Payment.Status.PENDING).order_by("id"))
    try:
        answer = client.create_payout(
            sender_batch_id=batch.idempotency_key,
            items=[
                {
                    "amount": str(p.amount),
                    "currency": p.currency,
                    "receiver": p.receiver,
                    "sender_item_id": str(p.code),
                    "note": f"Affiliate earnings from {batch.workspace.name}",
                }
                for p in payments
            ],
            subject=f"You have a payout from {batch.workspace.name}",
        )
    except PayPalError as e:
        if e.transient:
            raise
        return fail_batch(batch=batch, message=e.message)
    header = answer.get("batch_header", {})
    PaymentBatch.objects.filter(pk=batch.pk, status=PaymentBatch.Status.QUEUED).update(
        status=PaymentBatch.Status.PROCESSING,
        external_id=header.get("payout_batch_id", ""),
        status_message=header.get("batch_status", ""),
        updated_at=timezone.now(),
    )
    return PaymentBatch.objects.get(pk=batch.pk)


def apply_paypal_batch_status(*, batch: PaymentBatch, answer: dict) -> PaymentBatch:
    """Apply a GET /v1/payments/payouts/<id> answer: per-item outcomes, then the run's status."""
    by_code = {str(p.code): p for p in batch.payments.all()}
    for item in answer.get("items", []):
        sender_item_id = (item.get("payout_item") or {}).get("sender_item_id", "")
        payment = by_code.get(sender_item_id)
        if payment is None:
            continue
        status = (item.get("transaction_status") or "").upper()
        errors = item.get("errors") or {}
        message = errors.get("message") or errors.get("name") or status.lower()
        item_id = item.get("payout_item_id", "")
        if item_id and payment.external_id != item_id:
            Payment.objects.filter(pk=payment.pk).update(external_id=item_id)
        if status in PAYPAL_PAID:
            Payment.objects.filter(pk=payment.pk, status__in=[Payment.Status.PENDING, Payment.Status.UNCLAIMED]).update(
                status=Payment.Status.PAID,
                paid_on=timezone.localdate(),
                reference=item.get("transaction_id", "") or item_id,
                status_message="",
                updated_at=timezone.now(),
            )
        elif status in PAYPAL_FAILED:
            fail_payment(payment=payment, status=Payment.Status.FAILED, message=message)
        elif status in PAYPAL_RETURNED:
            fail_payment(payment=payment, status=Payment.Status.RETURNED, message="Returned: " + message)
        elif status in PAYPAL_UNCLAIMED:
            Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING).update(
                status=Payment.Status.UNCLAIMED,
                status_message="Unclaimed: the receiver has no PayPal account yet; returned after 30 days.",
                updated_at=timezone.now(),
            )
    open_left = batch.payments.filter(status__in=[Payment.Status.PENDING, Payment.Status.UNCLAIMED]).exists()
    header = answer.get("batch_header", {})
    PaymentBatch.objects.filter(pk=batch.pk).update(
        status=PaymentBatch.Status.PROCESSING if open_left else PaymentBatch.Status.COMPLETED,
        status_message=header.get("batch_status", ""),
        last_polled_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return PaymentBatch.objects.get(pk=batch.pk)


def poll_paypal_batch(*, batch: PaymentBatch, client) -> PaymentBatch:
    if batch.status != PaymentBatch.Status.PROCESSING or not batch.external_id:
        return batch
    return apply_paypal_batch_status(batch=batch, answer=client.get_payout(batch.external_id))
