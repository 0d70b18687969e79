"""Risk tasks: thin wrappers around the services."""

from celery import shared_task

from risk import services


@shared_task
def evaluate_conversion_events(limit: int = 500) -> int:
    """Run the fraud rules on conversions changed since the last run (beat, every 10 s)."""
    evaluated = services.evaluate_new_conversion_events_all_workspaces(limit=limit)
    if evaluated >= limit:
        evaluate_conversion_events.delay(limit)
    return evaluated
