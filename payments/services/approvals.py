"""Two-person payments: a run above the workspace's threshold waits for a second finance user.

(Settlement receipts above their own threshold wait likewise before they are credited:
``confirm_settlement_receipt`` in settlements.py.)

The run is posted when it is prepared (its payables and the balance are spoken for,
so nothing can pay them twice meanwhile) but not sent: a PayPal run is submitted, and a
manual run's payments marked paid, only when someone other than the preparer approves
it. Declining gives each payment's money back to its member's payable (the same
reversal a failed payment posts). Approval and decline claim the run with a conditional
update, so of two people deciding at once exactly one wins.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from payments.models import Payment, PaymentBatch, Rail, TwoPersonRule
from payments.services.runs import fail_payment, send_on_commit
from workspaces.errors import DomainError
from workspaces.models import Workspace

AWAITING = PaymentBatch.Status.AWAITING_APPROVAL


def set_two_person_rule(
    *,
    workspace: Workspace,
    threshold: Decimal | None,
    currency: str,
    settlement_threshold: Decimal | None = None,
    actor: str = "",
):
    """Require a second person above ``threshold`` for payment runs and above ``settlement_threshold``
    for settlement receipts (both in ``currency``); None switches each off, both None removes the rule."""
    if threshold is None and settlement_threshold is None:
        TwoPersonRule.objects.filter(workspace=workspace).delete()
        return None
    if (threshold or 0) < 0 or (settlement_threshold or 0) < 0:
        raise DomainError("A threshold cannot be negative.")
    rule, _ = TwoPersonRule.objects.update_or_create(
        workspace=workspace,
        defaults={
            "threshold": threshold,
            "settlement_threshold": settlement_threshold,
            "currency": currency.upper(),
            "set_by": actor,
        },
    )
    return rule


@transaction.atomic
def approve_payment_run(*, batch: PaymentBatch, actor: str) -> PaymentBatch:
    """The second person approves a run: it is sent (PayPal) or recorded as paid (manual)."""
    if not actor:
        raise DomainError("Sign in to approve a payment run.")
    if actor == batch.created_by:
        raise DomainError("You prepared this payment run: another finance user or owner must approve it.")
    now = timezone.now()
    approved = PaymentBatch.Status.COMPLETED if batch.rail == Rail.MANUAL else PaymentBatch.Status.QUEUED
    claimed = PaymentBatch.objects.filter(pk=batch.pk, status=AWAITING).update(
        status=approved, approved_by=actor[:150], approved_at=now, updated_at=now
    )
    if claimed != 1:
        raise DomainError("This payment run is not waiting for approval any more.")
    if batch.rail == Rail.MANUAL:
        batch.payments.filter(status=Payment.Status.PENDING).update(status=Payment.Status.PAID, updated_at=now)
    batch.refresh_from_db()
    if approved == PaymentBatch.Status.QUEUED:
        send_on_commit(batch)
    return batch


@transaction.atomic
def decline_payment_run(*, batch: PaymentBatch, actor: str, reason: str) -> PaymentBatch:
    """Refuse a run waiting for approval: nothing is sent and each payment's money returns to the payable."""
    if not reason.strip():
        raise DomainError("Give a reason for declining: the preparer sees it on the run.")
    now = timezone.now()
    claimed = PaymentBatch.objects.filter(pk=batch.pk, status=AWAITING).update(
        status=PaymentBatch.Status.DECLINED,
        approved_by=actor[:150],
        approved_at=now,
        status_message=f"Declined: {reason}"[:500],
        updated_at=now,
    )
    if claimed != 1:
        raise DomainError("This payment run is not waiting for approval any more.")
    for payment in batch.payments.order_by("id"):
        fail_payment(payment=payment, status=Payment.Status.FAILED, message=f"Declined by {actor}: {reason}")
    batch.refresh_from_db()
    return batch
