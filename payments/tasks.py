"""Payments tasks: thin wrappers that fetch by id and call one service."""

import logging

from celery import shared_task

from payments import services
from payments.models import PaymentBatch, Rail
from payments.rails import PayPalClient, PayPalError
from workspaces.errors import DomainError

log = logging.getLogger(__name__)


@shared_task
def process_conversion_events(limit: int = 500) -> int:
    """Post the ledger effect of pending conversion events (beat, every 10 s)."""
    processed = services.process_conversion_events_all_workspaces(limit=limit)
    if processed >= limit:
        # More are waiting: keep draining without waiting for the next beat.
        process_conversion_events.delay(limit)
    return processed


@shared_task
def sweep_stale_conversion_events() -> int:
    """Events unprocessed after a few minutes mean a lost message or a failing event: re-queue and report."""
    stale = services.count_stale_conversion_events_all_workspaces()
    if stale:
        log.warning("%s conversion events are unprocessed after 3 minutes; re-queueing the consumer", stale)
        process_conversion_events.delay()
    return stale


@shared_task
def create_expected_settlements() -> int:
    created = services.create_expected_settlements_all_workspaces()
    services.match_network_payouts_all_workspaces()
    return created


@shared_task
def credit_due_settlements() -> int:
    return services.credit_due_settlements_all_workspaces()


@shared_task(bind=True, max_retries=8)
def send_paypal_batch(self, batch_id: int) -> None:
    batch = PaymentBatch.objects.filter(pk=batch_id, rail=Rail.PAYPAL).first()
    if batch is None:
        return
    try:
        client = PayPalClient.from_settings()
    except DomainError as e:
        services.fail_batch(batch=batch, message=e.message)
        return
    try:
        services.send_paypal_batch(batch=batch, client=client)
    except PayPalError as e:
        # Transient: the same sender_batch_id and PayPal-Request-Id make the retry safe.
        raise self.retry(exc=e, countdown=min(60 * 2**self.request.retries, 3600))


@shared_task
def poll_paypal_batches() -> int:
    """Ask PayPal about every run still processing (beat, every 5 minutes)."""
    polled = 0
    batches = PaymentBatch.objects.filter(rail=Rail.PAYPAL, status=PaymentBatch.Status.PROCESSING).exclude(
        external_id=""
    )
    if not batches.exists() or not services.paypal_configured():
        return 0
    client = PayPalClient.from_settings()
    for batch in batches.order_by("id")[:200]:
        try:
            services.poll_paypal_batch(batch=batch, client=client)
            polled += 1
        except PayPalError as e:
            log.warning("PayPal status of run %s not available: %s", batch.code, e.message)
    return polled
