"""Tracking's Celery tasks: thin wrappers that call one function each."""

from celery import shared_task

from tracking import partitions
from tracking.clicks import buffer as click_buffer
from tracking.services import retention, spooled


@shared_task
def drain_click_buffer():
    """Move buffered clicks from the Redis stream into the database (every 2 seconds)."""
    return click_buffer.drain_click_buffer()


@shared_task
def replay_spool():
    """Store what the public endpoints spooled while the database was away (every 10 seconds)."""
    return spooled.replay_spool().stored


@shared_task
def prune():
    """Remove postback log rows, clicks and conversion events past their retention (daily)."""
    return retention.prune().as_dict()


@shared_task
def ensure_partitions():
    """Create this month's partitions and the next three months' (daily; PostgreSQL)."""
    return partitions.ensure_partitions()
