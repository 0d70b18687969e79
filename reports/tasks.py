"""The rollups' Celery tasks: thin wrappers that call one function each (beat schedule in config/celery.py)."""

from celery import shared_task

from reports import rollups


@shared_task
def refresh_rollups():
    """Recompute the report rollup days touched since the last run (every minute)."""
    return rollups.refresh_rollups_all_workspaces()


@shared_task
def rebuild_recent_rollups():
    """Nightly safety net: rebuild the last three days of rollups in every workspace."""
    return rollups.rebuild_recent_rollups_all_workspaces(days=3)
