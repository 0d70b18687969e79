"""Paid clicks' Celery task: a thin wrapper that calls one function."""

from celery import shared_task

from cpc.services import post_paid_clicks_all_workspaces


@shared_task
def post_paid_clicks():
    """Post yesterday's paid clicks of every workspace to the ledger (daily, 01:10 in TIME_ZONE)."""
    return post_paid_clicks_all_workspaces()
