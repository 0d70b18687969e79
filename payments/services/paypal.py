"""The PayPal rail: submit a run, apply its status, poll it; a refused run gives every payment's money back."""

from django.utils import timezone

from payments.models import Payment, PaymentBatch
from payments.services.runs import announce_payment, fail_payment

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
            paid = Payment.objects.filter(
                pk=payment.pk, status__in=[Payment.Status.PENDING, Payment.Status.UNCLAIMED]
            ).update(
                status=Payment.Status.PAID,
                paid_on=timezone.localdate(),
                reference=item.get("transaction_id", "") or item_id,
                status_message="",
                updated_at=timezone.now(),
            )
            if paid:
                payment.refresh_from_db()
                announce_payment(payment=payment, topic="payment.sent")
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
