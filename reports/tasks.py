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


@shared_task
def send_saved_reports():
    """Email the saved reports that are due today (daily at 06:00 UTC)."""
    from reports.saved import send_due_reports_all_workspaces

    return send_due_reports_all_workspaces()
