"""The beat entry wakes the rules; a full batch asks for another run at once."""

from datetime import timedelta
from unittest import mock

from config.celery import app
from risk.models import Verdict
from risk.tasks import evaluate_conversion_events
from tests.risk.helpers import convert, world


def test_the_beat_schedule_runs_the_rules_every_ten_seconds():
    entry = app.conf.beat_schedule["evaluate-conversion-events"]
    assert entry["task"] == "risk.tasks.evaluate_conversion_events" and entry["schedule"] == 10.0


def test_the_task_evaluates_and_requeues_itself_while_a_batch_comes_back_full(workspace):
    evaluate_conversion_events()
    w = world(workspace)
    quick = [convert(w, after=timedelta(seconds=1)) for _ in range(2)]
    with mock.patch("risk.tasks.evaluate_conversion_events.delay") as again:
        assert evaluate_conversion_events(limit=1) == 1
        again.assert_called_once_with(1)
        again.reset_mock()
        assert evaluate_conversion_events(limit=5) == 1
        again.assert_not_called()
    assert Verdict.objects.filter(conversion__in=quick).count() == 2
