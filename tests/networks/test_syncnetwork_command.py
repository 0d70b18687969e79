"""`manage.py syncnetwork --workspace W [--since DATE] [--kind ...]` and the beat dispatcher."""

from datetime import UTC, datetime, timedelta
from time import sleep as real_sleep  # imported before the suite turns time.sleep off

import httpx
import pytest
import respx
from django.core.management import CommandError, call_command
from django.utils import timezone

from networks import services, tasks
from networks.models import SyncRun, SyncState
from tests.networks.helpers import actions_page, empty, serve_once, url

pytestmark = pytest.mark.django_db


@respx.mock
def test_it_syncs_a_workspace_from_a_date(impact_connection, workspace, capsys):
    route = respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    since = (datetime.now(UTC) - timedelta(days=10)).date()
    call_command("syncnetwork", "--workspace", workspace.slug, "--since", since.isoformat(), "--kind", "actions")
    out = capsys.readouterr().out
    assert "Impact: actions succeeded - 3 created, 0 updated" in out
    assert route.calls[0].request.url.params["StartDate"] == f"{since.isoformat()}T00:00:00Z"
    assert SyncRun.objects.get().trigger == "command"


def test_it_explains_bad_input(workspace, impact_connection):
    with pytest.raises(CommandError, match="No workspace"):
        call_command("syncnetwork", "--workspace", "nope")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("syncnetwork", "--workspace", workspace.slug, "--since", "10/01/2026")


@respx.mock
def test_a_failed_sync_makes_the_command_fail(impact_connection, workspace):
    respx.get(url("Actions")).respond(401)
    with pytest.raises(CommandError, match="failed"):
        call_command("syncnetwork", "--workspace", workspace.slug, "--kind", "actions")


def test_the_dispatcher_starts_due_syncs_once(impact_connection, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(tasks.run_sync, "delay", queued.append)
    now = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        started = services.dispatch_due_syncs_all_workspaces(now=now)
    assert len(started) == 3 and sorted(queued) == sorted(started)
    kinds = set(SyncRun.objects.values_list("kind", flat=True))
    assert kinds == {"actions", "updates", "clicks"}
    states = {s.kind: s.next_run_at for s in SyncState.objects.all()}
    assert states["actions"] == now + timedelta(hours=1)
    assert states["clicks"] == datetime(2026, 3, 3, 4, 0, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.dispatch_due_syncs_all_workspaces(now=now + timedelta(minutes=5)) == []
    # An hour later the previous actions run is still active: no second one starts.
    assert services.dispatch_due_syncs_all_workspaces(now=now + timedelta(hours=1, minutes=1)) == []


@respx.mock
def test_a_paused_connection_is_not_scheduled(impact_connection):
    respx.get(url("Actions")).respond(200, json=empty("Actions"))
    impact_connection.sync_enabled = False
    impact_connection.save()
    assert services.dispatch_due_syncs_all_workspaces() == []


@respx.mock
def test_it_waits_out_a_rate_limit_and_finishes_the_run(impact_connection, workspace, capsys, monkeypatch):
    monkeypatch.setattr("time.sleep", real_sleep)  # the wait is real: one second
    limited = httpx.Response(429, json={"Status": "ERROR"}, headers={"Retry-After": "1"})
    first_page = httpx.Response(200, json=actions_page())
    route = respx.get(url("Actions")).mock(
        side_effect=[limited, first_page, *[httpx.Response(200, json=empty("Actions")) for _ in range(5)]]
    )
    call_command("syncnetwork", "--workspace", workspace.slug, "--kind", "actions")
    out = capsys.readouterr().out
    assert "Impact: Impact asks to wait 1 s (rate limit); waiting..." in out
    assert "Impact: actions succeeded - 3 created" in out
    run = SyncRun.objects.get()
    assert run.status == "succeeded" and not run.is_active
    assert route.call_count >= 2
    assert [c.response.status_code for c in route.calls][:2] == [429, 200]


@respx.mock
def test_with_no_wait_it_hands_the_run_to_a_worker_and_fails(impact_connection, workspace, capsys, monkeypatch):
    handed = []
    monkeypatch.setattr(tasks.run_sync, "apply_async", lambda args, countdown: handed.append((args[0], countdown)))
    respx.get(url("ActionUpdates")).respond(429, json={"Status": "ERROR"}, headers={"Retry-After": "120"})
    with pytest.raises(CommandError, match="handed to a worker"):
        call_command("syncnetwork", "--workspace", workspace.slug, "--kind", "updates", "--no-wait")
    out = capsys.readouterr().out
    run = SyncRun.objects.get()
    assert "Impact asks to wait 120 s (rate limit); handed to a worker: a worker resumes it at" in out
    assert handed == [(run.id, 120)]
    assert run.status == "waiting" and run.retry_at is not None


@respx.mock
def test_a_run_handed_on_that_nobody_resumed_is_taken_up_by_the_next_command(impact_connection, workspace, capsys):
    run = SyncRun.objects.create(
        workspace=workspace,
        connection=impact_connection,
        kind="actions",
        status="waiting",
        trigger="command",
        retry_at=timezone.now() - timedelta(minutes=5),
        window_start=datetime.now(UTC) - timedelta(days=3),
    )
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    call_command("syncnetwork", "--workspace", workspace.slug, "--kind", "actions")
    out = capsys.readouterr().out
    assert "resuming the waiting actions sync nobody took up" in out
    run.refresh_from_db()
    assert run.status == "succeeded" and run.created_count == 3
    assert SyncRun.objects.count() == 1


def test_a_run_still_waiting_its_turn_is_left_alone_and_said_so(impact_connection, workspace, capsys):
    run = SyncRun.objects.create(
        workspace=workspace,
        connection=impact_connection,
        kind="actions",
        status="waiting",
        retry_at=timezone.now() + timedelta(minutes=5),
        note="Impact asked us to slow down (429); retrying in 300 s.",
    )
    call_command("syncnetwork", "--workspace", workspace.slug, "--kind", "actions")
    out = capsys.readouterr().out
    # The same words as the page's "Sync now" answer.
    assert "Impact: The actions sync of Impact is waiting (Impact asked us to slow down (429)" in out
    assert f"it resumes by itself at {run.retry_at.astimezone(UTC):%H:%M} UTC; skipped." in out
    run.refresh_from_db()
    assert run.status == "waiting"
