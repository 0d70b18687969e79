"""Celery application and the one beat schedule of the hub.

Tasks are thin: they take ids, re-read rows and call one service. Every task is
acked late and rejected back to the queue if its worker dies, so a task must be
safe to run twice (services claim work with conditional updates).
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=300,
    task_time_limit=360,
    broker_connection_retry_on_startup=True,
    timezone="UTC",
)


def job(task: str, schedule, *, expires: int | None = None) -> dict:
    """A beat entry; ``expires`` (seconds) drops a run still queued after that long, where the next
    run does the same work anyway."""
    entry = {"task": task, "schedule": schedule}
    if expires is not None:
        entry["options"] = {"expires": expires}
    return entry


app.conf.beat_schedule = {
    # Every 5 minutes (*/5 * * * *): start the network syncs that are due for active connections
    # with API credentials (Impact actions and action updates hourly, its click export of the last
    # finished day at 04:00 in the account's time zone; ShareASale activity every 8 hours, voids and
    # edits daily; Awin transactions and validations hourly).
    "dispatch-network-syncs": job("networks.tasks.dispatch_network_syncs", crontab(minute="*/5"), expires=240),
    # Daily at 01:10 UTC (10 1 * * *): post yesterday's paid clicks of every workspace
    # to the ledger, after draining the click buffer so that no click of the day is still in Redis.
    "post-paid-clicks": job("cpc.tasks.post_paid_clicks", crontab(hour=1, minute=10)),
    # Daily at 06:00 UTC (0 6 * * *): email the saved reports scheduled daily (and weekly ones on Mondays).
    "send-saved-reports": job("reports.tasks.send_saved_reports", crontab(hour=6, minute=0)),
    # Daily at 03:15 UTC: delete invitations that expired more than 30 days ago.
    "prune-invitations": job("workspaces.tasks.prune_invitations", crontab(hour=3, minute=15)),
    # Every 2 seconds (finer than cron can say): insert clicks buffered in Redis. A run that
    # waited longer than its interval is dropped; the next one drains everything anyway.
    "drain-click-buffer": job("tracking.tasks.drain_click_buffer", 2.0, expires=10),
    # Every 10 seconds: store the clicks and hits the public endpoints spooled to local disk
    # while the database was away (tracking/spool.py). A worker sharing SPOOL_DIR with the
    # web processes runs it; an empty spool costs one directory listing.
    "replay-spool": job("tracking.tasks.replay_spool", 10.0, expires=30),
    # Daily at 03:30 UTC (30 3 * * *): remove postback log rows, clicks and conversion events
    # past their retention (tracking/services/retention.py).
    "prune": job("tracking.tasks.prune", crontab(hour=3, minute=30)),
    # Daily at 03:20 UTC: create this month's partitions and the next three (tracking/partitions.py).
    "ensure-partitions": job("tracking.tasks.ensure_partitions", crontab(hour=3, minute=20)),
    # Every minute: recompute the report rollup days touched by new clicks and conversion changes.
    "refresh-rollups": job("reports.tasks.refresh_rollups", crontab()),
    # Daily at 02:40 UTC: rebuild the last three days of rollups (safety net for late rows).
    "rebuild-recent-rollups": job("reports.tasks.rebuild_recent_rollups", crontab(hour=2, minute=40)),
    # Every 10 seconds (finer than cron can say): post new conversion events to the ledger.
    # Tracking never imports payments, so this beat is what wakes the consumer: a conversion
    # change reaches the ledger within about 10 s.
    "process-conversion-events": job("payments.tasks.process_conversion_events", 10.0, expires=30),
    # Every 10 seconds (finer than cron can say): run the fraud rules on conversions changed since the
    # last run (the risk app reads the conversion outbox with its own cursor), holding the ones that trip.
    "evaluate-conversion-events": job("risk.tasks.evaluate_conversion_events", 10.0, expires=30),
    # Every 5 minutes (*/5 * * * *): report and re-queue conversion events unprocessed after 3 minutes.
    "sweep-stale-conversion-events": job("payments.tasks.sweep_stale_conversion_events", crontab(minute="*/5")),
    # Daily at 01:30 UTC (30 1 * * *): create or top up each connection's expected settlement.
    "create-expected-settlements": job("payments.tasks.create_expected_settlements", crontab(hour=1, minute=30)),
    # Daily at 06:00 UTC (0 6 * * *): credit received settlements whose crediting delay has passed.
    "credit-due-settlements": job("payments.tasks.credit_due_settlements", crontab(hour=6, minute=0)),
    # Every 30 seconds (finer than cron can say): email members whose conversion was approved or
    # who were sent a payment (read from the outboxes, each once; members can turn each off).
    "notify-members": job("portal.tasks.notify_members", 30.0, expires=60),
    # Every 5 minutes (*/5 * * * *): poll PayPal for payout runs still processing.
    "poll-paypal-batches": job("payments.tasks.poll_paypal_batches", crontab(minute="*/5"), expires=240),
    # Every 10 seconds (finer than cron can say): turn new outbox rows (conversion changes, payments,
    # settlements, syncs, alerts) into webhook and member postback deliveries, and send them.
    "pump-outbound-outbox": job("outbound.tasks.pump_outbox", 10.0, expires=30),
    # Every minute (* * * * *): re-enqueue webhook and postback targets with due deliveries nobody is sending.
    "wake-due-outbound-targets": job("outbound.tasks.wake_due_targets", crontab(), expires=50),
    # Every 15 minutes (*/15 * * * *): open, keep or close alerts (tracking loss, postbacks, syncs, money, links).
    "evaluate-alerts": job("outbound.tasks.evaluate_alerts", crontab(minute="*/15"), expires=600),
    # Daily at 05:10 UTC (10 5 * * *): follow every active offer URL and deep link in use through its redirects.
    "check-offer-links": job("outbound.tasks.check_links", crontab(hour=5, minute=10)),
    # Daily at 03:25 UTC (25 3 * * *): delete outbound deliveries and events older than 30 days, closed alerts
    # older than 90 (pending deliveries are kept).
    "prune-outbound": job("outbound.tasks.prune_outbound", crontab(hour=3, minute=25)),
}

# With SPLIT_TASK_QUEUES (env CELERY_SPLIT_QUEUES=true) each kind of work has a queue of its own,
# so a slow network sync never delays money or clicks: run workers with -Q clicks, -Q syncs, -Q money
# and one with the default queue (emails and the rest). Off (the default), everything goes to
# CELERY_QUEUE, which one worker serves.
QUEUE_OF_APP = {"tracking": "clicks", "reports": "clicks", "networks": "syncs", "payments": "money"}


def route_task(name, args, kwargs, options, task=None, **kw):
    from django.conf import settings

    if not settings.SPLIT_TASK_QUEUES:
        return None
    queue = QUEUE_OF_APP.get(name.split(".", 1)[0])
    return {"queue": queue} if queue else None


app.conf.task_routes = (route_task,)

app.autodiscover_tasks()
