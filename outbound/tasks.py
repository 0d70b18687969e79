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


@shared_task
def prune_outbound():
    """Delete deliveries, events and link checks past their keeping time (beat, daily)."""
    return services.prune_outbound_all_workspaces()


@shared_task
def evaluate_alerts():
    """Open, keep or close every workspace's alerts (beat, every 15 minutes)."""
    return services.evaluate_alerts_all_workspaces()


@shared_task(soft_time_limit=3000, time_limit=3300)
def check_links():
    """Follow every active offer's links, then re-evaluate alerts (beat, daily)."""
    result = services.check_links_all_workspaces()
    services.evaluate_alerts_all_workspaces()
    return result


@shared_task
def check_offer_links(offer_id: int):
    """ "Check now" on an offer page."""
    from offers.models import Offer

    offer = Offer.objects.select_related("workspace").filter(pk=offer_id).first()
    if offer is None:
        return 0
    checks = services.check_offer_links(offer=offer)
    services.evaluate_alerts(workspace=offer.workspace)
    return len(checks)
