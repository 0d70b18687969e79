"""The rules run off the hot path: the risk app reads the conversion outbox with its own cursor."""

from datetime import timedelta

from risk.models import Case, Verdict
from risk.services import CONSUMER, evaluate_new_conversion_events_all_workspaces
from tests.risk.helpers import convert, world
from tracking.models import ConversionEvent
from tracking.services import change_conversion_status
from workspaces.models import OutboxCursor
from workspaces.outbox import lag


def start_reading():
    evaluate_new_conversion_events_all_workspaces()  # a new reader starts after the rows written so far


def test_a_conversion_that_trips_a_rule_gets_its_verdict_and_a_case(workspace):
    start_reading()
    w = world(workspace)
    quick = convert(w, after=timedelta(seconds=2))
    clean = convert(w)
    assert evaluate_new_conversion_events_all_workspaces() == 2
    verdict = Verdict.objects.get(conversion=quick)
    assert verdict.rule == "too_soon" and "2 s after its click" in verdict.reason
    assert Case.objects.get(conversion=quick).status == Case.Status.HELD
    assert not Verdict.objects.filter(conversion=clean).exists()
    assert not Case.objects.filter(conversion=clean).exists()
    assert lag(CONSUMER, ConversionEvent) == 0


def test_each_event_is_read_once_and_a_verdict_is_written_once(workspace):
    start_reading()
    w = world(workspace)
    quick = convert(w, after=timedelta(seconds=2), status="pending")
    evaluate_new_conversion_events_all_workspaces()
    change_conversion_status(conversion=quick, status="approved", actor="alice")
    assert evaluate_new_conversion_events_all_workspaces() == 1
    assert evaluate_new_conversion_events_all_workspaces() == 0
    assert Verdict.objects.filter(conversion=quick).count() == 1
    assert OutboxCursor.objects.filter(consumer=CONSUMER).count() == 1


def test_rules_switched_off_in_settings_do_not_run(workspace):
    from risk.services import settings_for

    start_reading()
    settings = settings_for(workspace)
    settings.too_soon_on = False
    settings.save(update_fields=["too_soon_on"])
    quick = convert(world(workspace), after=timedelta(seconds=2))
    evaluate_new_conversion_events_all_workspaces()
    assert not Verdict.objects.filter(conversion=quick).exists()
