"""Thin Celery tasks of the outbound app: each calls one service."""

from celery import shared_task

from outbound import services


@shared_task
def pump_outbox():
    """Turn new outbox rows into messages and deliveries (beat, every 10 seconds)."""
    return services.pump_outbox_all_workspaces()


@shared_task
def deliver(kind: str, target_id: int):
    """Send one endpoint's or member postback's pending deliveries, in order."""
    return services.deliver_target(kind=kind, target_id=target_id)


@shared_task
def wake_due_targets():
    """Re-enqueue targets whose due deliveries nobody is sending (beat, every minute)."""
    return services.wake_due_targets_all_workspaces()
