"""A full sync against the local stand-in server (real HTTP, no mocks)."""

from datetime import UTC, datetime, timedelta

import pytest

from networks import services
from networks.models import ClickExportJob, NetworkClickCount, SyncRun
from tests.networks.conftest import make_impact_connection
from tests.tools.impact_standin import SID, StandinServer
from tracking.models import Conversion


@pytest.fixture
def standin(settings):
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    with StandinServer(actions=4500, start=end - timedelta(days=60), end=end) as server:
        settings.IMPACT_API_BASE_URL = server.url
        yield server


def test_it_syncs_every_action_through_paged_windows(standin, workspace):
    conn = make_impact_connection(workspace, sid=SID)
    run = services.start_sync_run(connection=conn, kind="actions", trigger="manual")
    run.window_start = datetime.now(UTC) - timedelta(days=61)
    run.save()
    services.execute_sync_run(run=run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.created_count == 4500
    assert Conversion.objects.filter(workspace=workspace, network="impact").count() == 4500
    data = standin.standin
    reversed_ids = {
        f"1000.4636.{i}" for i in range(0, 4500, 50) if data.event_at(i) + timedelta(days=5) <= datetime.now(UTC)
    }
    assert set(Conversion.objects.filter(status="reversed").values_list("external_id", flat=True)) == reversed_ids
    # Page sizes are legal and no window spans more than 45 days.
    listing = [r for r in standin.standin.requests if "/Actions?" in r]
    assert listing and all("PageSize=2000" in r for r in listing)

    again = services.start_sync_run(connection=conn, kind="actions", trigger="manual")
    services.execute_sync_run(run=again)
    again.refresh_from_db()
    assert again.status == SyncRun.Status.SUCCEEDED, again.error
    assert again.created_count == 0
    assert Conversion.objects.filter(workspace=workspace).count() == 4500


def test_it_imports_a_click_export_end_to_end(standin, workspace, django_capture_on_commit_callbacks, monkeypatch):
    conn = make_impact_connection(workspace, sid=SID)
    polls = []
    monkeypatch.setattr("networks.tasks.poll_click_export.apply_async", lambda args, countdown: polls.append(args[0]))
    run = services.start_sync_run(connection=conn, kind="clicks", trigger="manual")
    with django_capture_on_commit_callbacks(execute=True):
        services.execute_sync_run(run=run)
    job = ClickExportJob.objects.get(connection=conn)
    assert polls == [job.id]
    for _ in range(6):
        job.refresh_from_db()
        if job.is_finished:
            break
        with django_capture_on_commit_callbacks(execute=True):
            services.poll_click_export(job=job)
    job.refresh_from_db()
    assert job.status == ClickExportJob.Status.DONE, job.status_message
    assert job.rows == 300
    assert sum(NetworkClickCount.objects.filter(connection=conn).values_list("clicks", flat=True)) == 300
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
