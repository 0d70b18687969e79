"""`manage.py sync_impact --workspace W [--since DATE] [--kind ...]` and the beat dispatcher."""

from datetime import UTC, datetime, timedelta

import pytest
import respx
from django.core.management import CommandError, call_command

from networks import services, tasks
from networks.models import SyncRun, SyncState
from tests.networks.helpers import actions_page, empty, serve_once, url

pytestmark = pytest.mark.django_db


@respx.mock
def test_it_syncs_a_workspace_from_a_date(impact_connection, workspace, capsys):
    route = respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    since = (datetime.now(UTC) - timedelta(days=10)).date()
    call_command("sync_impact", "--workspace", workspace.slug, "--since", since.isoformat(), "--kind", "actions")
    out = capsys.readouterr().out
    assert "Impact: actions succeeded - 3 created, 0 updated" in out
    assert route.calls[0].request.url.params["StartDate"] == f"{since.isoformat()}T00:00:00Z"
    assert SyncRun.objects.get().trigger == "command"


def test_it_explains_bad_input(workspace, impact_connection):
    with pytest.raises(CommandError, match="No workspace"):
        call_command("sync_impact", "--workspace", "nope")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("sync_impact", "--workspace", workspace.slug, "--since", "10/01/2026")


@respx.mock
def test_a_failed_sync_makes_the_command_fail(impact_connection, workspace):
    respx.get(url("Actions")).respond(401)
    with pytest.raises(CommandError, match="failed"):
        call_command("sync_impact", "--workspace", workspace.slug, "--kind", "actions")


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
