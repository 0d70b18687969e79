"""Actions sync: upsert by ActionId through record_conversion, windows, cursor, every error class."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import respx
from django.core.cache import cache
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from networks import services, tasks
from networks.models import SyncRun, SyncState
from networks.services import runs
from offers.models import NetworkConnection
from tests.networks.helpers import actions_page, empty, sample_action, serve_once, url
from tracking.models import Conversion, ConversionEvent
from workspaces.errors import DomainError

pytestmark = pytest.mark.django_db


def run_actions(connection, **kw) -> SyncRun:
    run = services.start_sync_run(connection=connection, kind="actions", trigger="manual", **kw)
    services.execute_sync_run(run=run)
    run.refresh_from_db()
    return run


@respx.mock
def test_it_upserts_actions_and_attributes_them(impact_connection, shop):
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    run = run_actions(impact_connection)
    assert run.status == "succeeded", run.error
    # The first run reads the last 90 days: two windows of at most 45 days, one page each.
    assert (run.created_count, run.updated_count, run.pages_done) == (3, 0, 2)

    matched = Conversion.objects.get(external_id="1000.4636.158133")
    assert matched.click == shop["click"] and matched.member == shop["member"] and matched.offer == shop["offer"]
    assert matched.source == "api_sync" and matched.status == "pending"
    assert (matched.sale_amount, matched.network_payout, matched.currency) == (Decimal("21.99"), Decimal("0.88"), "USD")
    assert matched.member_payout == Decimal("2.20")  # 10% of the sale
    assert matched.event_at == datetime(2024, 9, 10, 17, 42, 38, tzinfo=UTC)
    assert matched.locking_at == datetime(2024, 9, 26, 7, 0, tzinfo=UTC)
    # No click for SubId1, but SubId2 names our member.
    by_member = Conversion.objects.get(external_id="1000.4636.158001")
    assert by_member.click is None and by_member.member == shop["member"] and by_member.status == "approved"
    reversed_ = Conversion.objects.get(external_id="1000.4636.157990")
    assert reversed_.status == "reversed" and reversed_.sale_amount == Decimal("0.00")


@respx.mock
def test_unmatched_actions_are_kept_unattributed(impact_connection):
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page([sample_action(0, SubId2="nobody")])))
    run = run_actions(impact_connection)
    conversion = Conversion.objects.get(external_id="1000.4636.158133")
    assert run.created_count == 1
    assert conversion.member is None and conversion.click is None and conversion.transaction_id == "hub-click-7f3a9c"


@respx.mock
def test_a_repeated_run_changes_nothing_and_a_changed_action_updates(impact_connection, shop):
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    run_actions(impact_connection)
    events = ConversionEvent.objects.count()
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    again = run_actions(impact_connection)
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)
    assert ConversionEvent.objects.count() == events

    changed = sample_action(0, State="APPROVED", Amount="25.00", Payout="1.00")
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page([changed])))
    third = run_actions(impact_connection)
    assert third.updated_count == 1
    conversion = Conversion.objects.get(external_id="1000.4636.158133")
    assert (conversion.status, conversion.sale_amount, conversion.network_payout) == (
        "approved",
        Decimal("25.00"),
        Decimal("1.00"),
    )
    assert Conversion.objects.count() == 3


@respx.mock
def test_it_resumes_from_the_cursor_with_an_overlap_and_rereads_locked_actions(impact_connection):
    route = respx.get(url("Actions")).respond(200, json=empty("Actions"))
    first = run_actions(impact_connection)
    state = SyncState.objects.get(connection=impact_connection, kind="actions")
    assert state.cursor_at == first.window_end
    second = run_actions(impact_connection)
    assert second.window_start == first.window_end - runs.OVERLAP
    params = [dict(c.request.url.params) for c in route.calls]
    assert any("LockingDateStart" in p for p in params[1:])  # pending actions that locked since
    assert all("StartDate" in p or "LockingDateStart" in p for p in params)


@respx.mock
def test_long_backfills_are_split_into_45_day_windows(impact_connection):
    route = respx.get(url("Actions")).respond(200, json=empty("Actions"))
    since = datetime.now(UTC) - timedelta(days=100)
    run = run_actions(impact_connection, since=since)
    assert run.status == "succeeded"
    windows = [
        (datetime.fromisoformat(p["StartDate"]), datetime.fromisoformat(p["EndDate"]))
        for p in (c.request.url.params for c in route.calls)
    ]
    assert len(windows) == 3
    assert all(b - a <= timedelta(days=45) for a, b in windows)
    assert windows[0][0] == since.replace(microsecond=0) and windows[1][0] == windows[0][1]


@respx.mock
def test_a_window_impact_would_page_past_ten_pages_is_halved(impact_connection):
    too_many = httpx.Response(400, json={"Status": "ERROR", "Message": "Results exceed 10 pages; narrow the range"})
    route = respx.get(url("Actions")).mock(
        side_effect=[
            too_many,
            httpx.Response(200, json=actions_page([sample_action(0)])),
            httpx.Response(200, json=empty("Actions")),
        ]
    )
    run = run_actions(impact_connection, since=datetime.now(UTC) - timedelta(days=20))
    assert run.status == "succeeded", run.error
    assert route.call_count == 3 and run.created_count == 1


@respx.mock
def test_429_waits_at_least_retry_after_by_rescheduling(impact_connection, monkeypatch):
    scheduled = []
    monkeypatch.setattr(tasks.run_sync, "apply_async", lambda args, countdown: scheduled.append(countdown))
    respx.get(url("Actions")).respond(429, json={"Status": "ERROR"}, headers={"Retry-After": "700"})
    run = services.start_sync_run(connection=impact_connection, kind="actions", trigger="manual")
    tasks.run_sync(run.id)
    run.refresh_from_db()
    assert scheduled and scheduled[0] >= 700
    assert run.status == "waiting" and run.retry_at >= run.updated_at + timedelta(seconds=699)
    # Delivered early (a duplicate message), the task does nothing: never sooner than Retry-After.
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    tasks.run_sync(run.id)
    run.refresh_from_db()
    assert run.status == "waiting"
    # Once the time has come (for the run and for the connection's rate-limit block), the
    # resumed task finishes the same run.
    SyncRun.objects.filter(id=run.id).update(retry_at=timezone.now())
    cache.clear()
    tasks.run_sync(run.id)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.created_count == 3
    assert len(scheduled) == 1


@respx.mock
def test_401_marks_the_connection_broken_and_stops_its_schedule(impact_connection, monkeypatch):
    respx.get(url("Actions")).respond(401, json={"Status": "ERROR", "Message": "Unauthorized"})
    run = run_actions(impact_connection)
    impact_connection.refresh_from_db()
    assert run.status == "failed" and "Syncing is stopped" in run.error
    assert impact_connection.status == NetworkConnection.Status.BROKEN
    assert "rejected this Account SID and Auth Token" in impact_connection.status_message
    queued = []
    monkeypatch.setattr(tasks.run_sync, "delay", queued.append)
    assert services.dispatch_due_syncs_all_workspaces() == []
    with pytest.raises(DomainError, match="broken"):
        services.request_sync(connection=impact_connection, kind="actions", trigger="manual")


@respx.mock
def test_403_fails_the_run_naming_the_scope(impact_connection):
    respx.get(url("Actions")).respond(403, json={"Status": "ERROR", "Message": "Forbidden"})
    run = run_actions(impact_connection)
    impact_connection.refresh_from_db()
    assert run.status == "failed" and "/Actions" in run.error and "scope" in run.error
    assert impact_connection.status == "active"


@respx.mock
def test_a_persistent_server_error_is_tried_five_times_per_run_then_fails(impact_connection, monkeypatch):
    scheduled = []
    monkeypatch.setattr(tasks.run_sync, "apply_async", lambda args, countdown: scheduled.append(countdown))
    route = respx.get(url("Actions")).respond(503)
    run = services.start_sync_run(connection=impact_connection, kind="actions", trigger="manual")
    for _ in range(10):
        tasks.run_sync(run.id)
        run.refresh_from_db()
        if not run.is_active:
            break
        SyncRun.objects.filter(id=run.id).update(retry_at=timezone.now())  # the countdown has passed
    assert route.call_count == runs.MAX_SERVER_TRIES == 5
    assert run.status == "failed"
    assert "Impact answered 503 for /Actions (5 times in a row)." in run.error and "Gave up after 5 tries" in run.error
    # The client's own quick retries, then one re-scheduled task after a back-off of a minute or more.
    assert len(scheduled) == 1 and 60 <= scheduled[0] <= runs.RETRY_CAP + 1


@respx.mock
def test_a_success_in_between_resets_the_count_of_server_errors(impact_connection, monkeypatch):
    monkeypatch.setattr(tasks.run_sync, "apply_async", lambda args, countdown: None)
    # Two 45-day windows, then the LockingDate pass: 8 server errors in all, never 5 in a row.
    answers = [503, 503, 503, 200, 503, 503, 503, 503, 200, 200]
    pages = iter([actions_page(), empty("Actions"), empty("Actions")])

    def respond(request):
        code = answers.pop(0)
        return httpx.Response(code, json=next(pages)) if code == 200 else httpx.Response(code)

    respx.get(url("Actions")).mock(side_effect=respond)
    run = services.start_sync_run(connection=impact_connection, kind="actions", trigger="manual")
    for _ in range(5):
        tasks.run_sync(run.id)
        run.refresh_from_db()
        if not run.is_active:
            break
        SyncRun.objects.filter(id=run.id).update(retry_at=timezone.now())
    assert run.status == "succeeded", run.error
    assert answers == [] and run.created_count == 3


@respx.mock
def test_a_malformed_page_fails_the_run_but_keeps_earlier_pages(impact_connection):
    page1 = actions_page([sample_action(0)], numpages=2, next_uri=url("Actions").split("impact.test")[1] + "?Page=2")
    respx.get(url("Actions")).mock(
        side_effect=[httpx.Response(200, json=page1), httpx.Response(200, content=b"<html>oops</html>")]
    )
    run = run_actions(impact_connection)
    assert run.status == "failed" and "unexpected root element <html>" in run.error
    assert Conversion.objects.filter(external_id="1000.4636.158133").exists()
    assert run.pages_done == 1
    assert SyncState.objects.get(connection=impact_connection, kind="actions").cursor_at is None


@respx.mock
def test_a_bad_record_is_rejected_alone(impact_connection):
    bad = sample_action(1, Amount="12,50")
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page([sample_action(0), bad])))
    run = run_actions(impact_connection)
    assert run.status == "succeeded"
    assert (run.created_count, run.rejected_count) == (1, 1)
    assert "Amount" in run.note


def test_one_connection_never_runs_two_syncs_of_a_kind_at_once(impact_connection):
    first = services.start_sync_run(connection=impact_connection, kind="actions", trigger="manual")
    assert first is not None
    assert services.start_sync_run(connection=impact_connection, kind="actions", trigger="schedule") is None
    assert services.start_sync_run(connection=impact_connection, kind="updates", trigger="schedule") is not None
    with pytest.raises(IntegrityError):
        SyncRun.objects.create(
            workspace=impact_connection.workspace, connection=impact_connection, kind="actions", status="running"
        )


def test_a_task_delivered_twice_runs_once(impact_connection):
    run = services.start_sync_run(connection=impact_connection, kind="actions", trigger="manual")
    assert runs.claim(run) is True
    assert runs.claim(SyncRun.objects.get(id=run.id)) is False


@respx.mock
def test_a_postback_and_a_sync_of_one_sale_are_one_conversion(client, impact_connection, shop):
    url_ = reverse("tracking:postback", kwargs={"network": "impact", "secret": impact_connection.postback_secret})
    response = client.get(
        url_,
        {
            "action_id": "1000.4636.158133",
            "status": "PENDING",
            "payout": "0.88",
            "amount": "21.99",
            "currency": "USD",
            "subid1": "hub-click-7f3a9c",
            "subid2": "creator-42",
        },
    )
    assert response.status_code == 200, response.content
    assert Conversion.objects.filter(external_id="1000.4636.158133").count() == 1
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page([sample_action(0, State="APPROVED")])))
    run = run_actions(impact_connection)
    assert run.updated_count == 1 and run.created_count == 0
    conversion = Conversion.objects.get(external_id="1000.4636.158133")
    assert conversion.status == "approved" and conversion.source == "postback"
    assert Conversion.objects.count() == 1


def test_lost_task_messages_are_re_enqueued(impact_connection, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.run_sync, "delay", queued.append)
    run = services.start_sync_run(connection=impact_connection, kind="actions", trigger="schedule")
    assert services.resume_lost_work_all_workspaces() == (0, 0)  # just queued: not lost
    later = timezone.now() + timedelta(minutes=11)
    assert services.resume_lost_work_all_workspaces(now=later) == (1, 0)
    assert queued == [run.id]


@respx.mock
def test_a_long_sync_continues_in_a_new_task_at_the_time_limit(impact_connection, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    scheduled = []
    monkeypatch.setattr(tasks.run_sync, "apply_async", lambda args, countdown: scheduled.append(countdown))
    respx.get(url("Actions")).mock(side_effect=SoftTimeLimitExceeded())
    run = services.start_sync_run(connection=impact_connection, kind="actions", trigger="manual")
    tasks.run_sync(run.id)
    run.refresh_from_db()
    assert run.status == "waiting" and scheduled == [1]


@respx.mock
def test_an_xml_answer_syncs_like_json(impact_connection):
    from tests.networks.helpers import FIXTURES

    xml = {"Content-Type": "text/xml; charset=UTF-8"}
    respx.get(url("Actions")).mock(
        side_effect=[
            httpx.Response(200, content=(FIXTURES / "impact_actions_page1.xml").read_bytes(), headers=xml),
            httpx.Response(200, content=(FIXTURES / "actions_page2.xml").read_bytes(), headers=xml),
        ]
        + [httpx.Response(200, json=empty("Actions"))] * 3
    )
    run = run_actions(impact_connection)
    assert run.status == "succeeded", run.error
    assert set(Conversion.objects.values_list("external_id", flat=True)) == {"1000.4636.158133", "1000.4636.158999"}
    conversion = Conversion.objects.get(external_id="1000.4636.158133")
    assert (conversion.sale_amount, conversion.network_payout, conversion.status) == (
        Decimal("21.99"),
        Decimal("0.88"),
        "pending",
    )
