"""ClickExport: one job per program and day, polled by re-scheduled tasks, downloaded and counted."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from networks import services, tasks
from networks.models import ClickExportJob, NetworkClickCount, SyncRun
from tests.networks.helpers import load, url

pytestmark = pytest.mark.django_db
JOB = "d8807a9f-a5ee-4e3f-ad2b-3dfd19d1915f"


@pytest.fixture
def scheduled(monkeypatch):
    calls = []
    monkeypatch.setattr(
        tasks.poll_click_export, "apply_async", lambda args, countdown: calls.append((args[0], countdown))
    )
    return calls


def mock_request_side():
    campaigns = load("impact_campaigns.json")
    respx.get(url("Campaigns")).respond(200, json=campaigns)
    return respx.get(url("ClickExport")).respond(200, json=load("impact_clickexport_queued.json"))


def start(connection, django_capture_on_commit_callbacks):
    run = services.start_sync_run(connection=connection, kind="clicks", trigger="manual")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_sync(run.id)
    run.refresh_from_db()
    return run


@respx.mock
def test_a_job_goes_queued_running_completed_and_its_clicks_are_counted(
    impact_connection, scheduled, django_capture_on_commit_callbacks
):
    export = mock_request_side()
    run = start(impact_connection, django_capture_on_commit_callbacks)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    assert export.calls.last.request.url.params["ProgramId"] == "10306"
    assert export.calls.last.request.url.params["Date"] == yesterday.isoformat()
    job = ClickExportJob.objects.get(connection=impact_connection)
    assert (job.job_id, job.status, job.date) == (JOB, "queued", yesterday)
    assert run.status == "waiting" and run.pages_total == 1
    assert scheduled == [(job.id, services.POLL_FIRST)]

    status = load("impact_job_status.json")
    respx.get(url(f"Jobs/{JOB}")).mock(
        side_effect=[
            httpx.Response(200, json=load("impact_job_status_queued.json")),
            httpx.Response(200, json=status | {"Status": "RUNNING", "CompletedDate": ""}),
            httpx.Response(200, json=status),
            httpx.Response(200, json=status),
        ]
    )
    download = url(f"Jobs/{JOB}/Download")
    respx.get(download).mock(
        side_effect=[
            httpx.Response(202, json={"Status": "RUNNING"}),
            httpx.Response(302, headers={"Location": "https://signed.impact-files.test/clicks.csv?sig=1"}),
        ]
    )
    signed = respx.get("https://signed.impact-files.test/clicks.csv").respond(
        200, content=(load_text("impact_clicks.csv")), headers={"Content-Type": "text/csv"}
    )
    for expected in ("queued", "running", "downloading", "done"):
        tasks.poll_click_export(job.id)
        job.refresh_from_db()
        assert job.status == expected
    # Each wait re-schedules the task (never a sleep); the last poll schedules nothing.
    countdowns = [c for _, c in scheduled[1:]]
    assert len(countdowns) == 3 and countdowns[0] >= services.POLL_FIRST
    assert "Authorization" not in signed.calls.last.request.headers
    counts = {
        c.sub_id1: (c.clicks, c.unique_clicks) for c in NetworkClickCount.objects.filter(connection=impact_connection)
    }
    assert counts == {"hub-click-7f3a9c": (1, 1), "hub-click-88c0de": (1, 0)}
    assert NetworkClickCount.objects.filter(program_id="27154", date=yesterday).count() == 2
    run.refresh_from_db()
    assert run.status == "succeeded" and run.created_count == 2 and run.progress == 100


def load_text(name):
    from tests.networks.helpers import FIXTURES

    return (FIXTURES / name).read_bytes()


@respx.mock
def test_a_failed_job_fails_the_run_with_impacts_message(
    impact_connection, scheduled, django_capture_on_commit_callbacks
):
    mock_request_side()
    run = start(impact_connection, django_capture_on_commit_callbacks)
    job = ClickExportJob.objects.get(connection=impact_connection)
    failed = load("impact_job_status.json") | {"Status": "FAILED", "StatusMessage": "Export failed after 5 tries."}
    respx.get(url(f"Jobs/{JOB}")).respond(200, json=failed)
    tasks.poll_click_export(job.id)
    job.refresh_from_db()
    run.refresh_from_db()
    assert job.status == "failed" and "Export failed after 5 tries." in job.status_message
    assert run.status == "failed" and "Export failed after 5 tries." in run.error
    assert len(scheduled) == 1  # no more polling


@respx.mock
def test_an_error_job_is_polled_again_after_impacts_retry_interval(
    impact_connection, scheduled, django_capture_on_commit_callbacks
):
    mock_request_side()
    start(impact_connection, django_capture_on_commit_callbacks)
    job = ClickExportJob.objects.get(connection=impact_connection)
    respx.get(url(f"Jobs/{JOB}")).respond(200, json=load("impact_job_status.json") | {"Status": "ERROR"})
    tasks.poll_click_export(job.id)
    job.refresh_from_db()
    assert job.status == "error" and scheduled[-1] == (job.id, services.ERROR_POLL)


@respx.mock
def test_an_identical_export_is_never_submitted_twice(impact_connection, scheduled, django_capture_on_commit_callbacks):
    export = mock_request_side()
    first = start(impact_connection, django_capture_on_commit_callbacks)
    SyncRun.objects.filter(id=first.id).update(status="succeeded")
    second = start(impact_connection, django_capture_on_commit_callbacks)
    assert export.call_count == 1
    assert second.status == "succeeded" and "already exported" in second.note
    assert ClickExportJob.objects.count() == 1


@respx.mock
def test_it_stays_under_ten_exports_a_day(impact_connection, scheduled, django_capture_on_commit_callbacks):
    campaigns = load("impact_campaigns.json")
    template = campaigns["Campaigns"][0]
    campaigns["Campaigns"] = [template | {"CampaignId": str(20000 + n)} for n in range(12)]
    respx.get(url("Campaigns")).respond(200, json=campaigns)
    export = respx.get(url("ClickExport")).respond(200, json=load("impact_clickexport_queued.json"))
    run = start(impact_connection, django_capture_on_commit_callbacks)
    assert export.call_count == 10
    assert "Daily limit of 10 exports reached" in run.note
    assert ClickExportJob.objects.exclude(status="requesting").count() == 10
