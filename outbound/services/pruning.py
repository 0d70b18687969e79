"""Keeping the outbound tables small: old deliveries, attempts, events, link checks and alerts go."""

from datetime import timedelta

from django.utils import timezone

from outbound.models import Alert, Attempt, Delivery, LinkCheck, Message

# /api/v1/events/ and the delivery logs reach back this far.
KEEP_EVENTS = timedelta(days=30)
KEEP_LINK_CHECKS = timedelta(days=30)
KEEP_CLOSED_ALERTS = timedelta(days=90)


def prune_outbound_all_workspaces(*, now=None) -> dict[str, int]:
    """Delete what is older than its keeping time; pending deliveries are never touched."""
    now = now or timezone.now()
    done = Delivery.objects.filter(created_at__lt=now - KEEP_EVENTS).exclude(status=Delivery.Status.PENDING)
    counts = {
        "attempts": Attempt.objects.filter(delivery__in=done).delete()[0],
        "deliveries": done.delete()[0],
        "events": Message.objects.filter(created_at__lt=now - KEEP_EVENTS).delete()[0],
        "link_checks": LinkCheck.objects.filter(checked_at__lt=now - KEEP_LINK_CHECKS).delete()[0],
        "alerts": Alert.objects.filter(closed_at__lt=now - KEEP_CLOSED_ALERTS).delete()[0],
    }
    return counts
