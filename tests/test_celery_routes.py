"""Task queues: one for everything by default; with CELERY_SPLIT_QUEUES, clicks, syncs and money apart."""

from config.celery import app


def queue_of(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def test_every_task_goes_to_the_default_queue_unless_queues_are_split(settings):
    settings.SPLIT_TASK_QUEUES = False
    assert queue_of("payments.tasks.process_conversion_events") == app.conf.task_default_queue
    assert queue_of("networks.tasks.run_sync") == app.conf.task_default_queue


def test_split_queues_keep_slow_syncs_away_from_money_and_clicks(settings):
    settings.SPLIT_TASK_QUEUES = True
    assert queue_of("tracking.tasks.drain_click_buffer") == "clicks"
    assert queue_of("tracking.tasks.replay_spool") == "clicks"
    assert queue_of("reports.tasks.refresh_rollups") == "clicks"
    assert queue_of("networks.tasks.run_sync") == "syncs"
    assert queue_of("payments.tasks.process_conversion_events") == "money"
    assert queue_of("payments.tasks.send_paypal_batch") == "money"
    assert queue_of("workspaces.tasks.send_invitation") == app.conf.task_default_queue
