"""Tracking's Celery tasks: thin wrappers that call one function each."""

from celery import shared_task

from tracking import clicks, reports


@shared_task
def drain_click_buffer():
    """Move buffered clicks from the Redis stream into the database (every 2 seconds)."""
    return clicks.drain_click_buffer()


@shared_task
def refresh_rollups():
    """Recompute the report rollup days touched since the last run (every minute)."""
    return reports.refresh_rollups_all_workspaces()


@shared_task
def rebuild_recent_rollups():
    """Nightly safety net: rebuild the last three days of rollups in every workspace."""
    return reports.rebuild_recent_rollups_all_workspaces(days=3)
