from datetime import timedelta
from unittest import mock

from django.utils import timezone

from payments import tasks
from payments.models import Settlement
from tests.payments.helpers import convert, make_connection, make_member
from tracking.models import ConversionEvent


def test_the_consumer_keeps_draining_when_more_events_wait(workspace):
    conn, member = make_connection(workspace), make_member(workspace)
    for _ in range(3):
        convert(conn, member)
    with mock.patch.object(tasks.process_conversion_events, "delay") as delay:
        assert tasks.process_conversion_events(limit=2) == 2
    delay.assert_called_once_with(2)
    with mock.patch.object(tasks.process_conversion_events, "delay") as delay:
        assert tasks.process_conversion_events(limit=2) == 1
    delay.assert_not_called()


def test_the_sweeper_requeues_only_stale_events(workspace):
    conn, member = make_connection(workspace), make_member(workspace)
    convert(conn, member)
    with mock.patch.object(tasks.process_conversion_events, "delay") as delay:
        assert tasks.sweep_stale_conversion_events() == 0
        delay.assert_not_called()
        ConversionEvent.objects.update(created_at=timezone.now() - timedelta(minutes=10))
        assert tasks.sweep_stale_conversion_events() == 1
        delay.assert_called_once_with()


def test_the_daily_tasks_create_and_credit_settlements(workspace):
    conn, member = make_connection(workspace), make_member(workspace)
    convert(conn, member, payout="12.00")
    tasks.process_conversion_events()
    assert tasks.create_expected_settlements() == 1
    assert Settlement.objects.get().expected_amount == 12
    assert tasks.credit_due_settlements() == 0


def test_polling_does_nothing_without_paypal_runs(db):
    assert tasks.poll_paypal_batches() == 0
