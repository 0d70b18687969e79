"""Payment runs: who would be paid how much, and paying them from the available balance.

Also a failed or returned payment: its money back to the member, and a retry.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from offers.models import Member
from payments.blocks import registered_block_reason
from payments.ledger import get_account, lock_account, post_transaction, reverse_transaction
from payments.models import (
    ZERO,
    Account,
    AccountKind,
    FundingCard,
    LedgerTransaction,
    MemberHold,
    Payment,
    PaymentBatch,
    Rail,
    TwoPersonRule,
    TxnKind,
)
from payments.services.funding import card_headroom, fund_by_card
from workspaces.errors import DomainError
from workspaces.models import Workspace
from workspaces.outbox import publish


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
    if MemberHold.objects.filter(member=member).exists():
        return "Member is on hold."
    if rail == Rail.PAYPAL and not member.paypal_email:
        return "No PayPal email on file."
    return registered_block_reason(member)


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
    if batch.status == PaymentBatch.Status.QUEUED:
        send_on_commit(batch)
    return batch, True


def send_on_commit(batch: PaymentBatch) -> None:
    """Hand a queued PayPal run to the rail once the transaction that queued it commits."""
    from payments.tasks import send_paypal_batch as send_paypal_batch_task

    transaction.on_commit(lambda: send_paypal_batch_task.delay(batch.pk))


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
    rule = TwoPersonRule.objects.filter(workspace=ws).first()
    if rule is not None and rule.needs_approval(currency=currency, total=total):
        # Posted now, so the payables and the balance are spoken for; sent (or, for a manual
        # run, marked paid) only when a second finance user approves it.
        batch.status = PaymentBatch.Status.AWAITING_APPROVAL
    awaiting = batch.status == PaymentBatch.Status.AWAITING_APPROVAL
    if total > available.balance:
        fund_by_card(batch=batch, available=available, shortfall=total - available.balance)
    for account, owed in lines:
        member = account.member
        payment = Payment.objects.create(
            workspace=ws,
            batch=batch,
            member=member,
            amount=owed,
            currency=currency,
            rail=batch.rail,
            status=Payment.Status.PAID if batch.rail == Rail.MANUAL and not awaiting else Payment.Status.PENDING,
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
            memo=f"Payment to {member.name} ({batch.get_rail_display()}), prepared by {batch.created_by or 'the hub'}",
            payment=payment,
        )
        if payment.status == Payment.Status.PAID:
            announce_payment(payment=payment, topic="payment.sent")
    batch.total = total
    batch.save(update_fields=["total", "status", "updated_at"])


def announce_payment(*, payment: Payment, topic: str) -> None:
    """Tell the outbox (webhooks, alerts) that a payment was sent or failed; in the change's transaction."""
    member = payment.member
    publish(
        workspace=payment.workspace,
        topic=topic,
        subject=f"payment:{payment.code}",
        data={
            "id": str(payment.code),
            "member": {"id": str(member.code), "affiliate_id": member.affiliate_id, "name": member.name},
            "amount": f"{payment.amount:.2f}",
            "currency": payment.currency,
            "rail": payment.rail,
            "status": payment.status,
            "reference": payment.reference,
            "message": payment.status_message,
        },
    )


def paypal_configured() -> bool:
    return bool(settings.PAYPAL_CLIENT_ID and settings.PAYPAL_CLIENT_SECRET)


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
    payment.status, payment.status_message = status, message[:500]
    announce_payment(payment=payment, topic="payment.failed")
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
