"""ClickExport: one job per program and day, polled by re-scheduled tasks, downloaded and counted."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from networks import services, tasks
from networks.models import ClickExportJob, NetworkClickCount, NetworkProgram, SyncRun
from networks.services import impact as impact_sync
from networks.services import runs
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


def mock_request_side(timezone="UTC"):
    respx.get(url("CompanyInformation")).respond(200, json={"CompanyName": "Partner", "Timezone": timezone})
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
    assert scheduled == [(job.id, impact_sync.POLL_FIRST)]

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
    assert len(countdowns) == 3 and countdowns[0] >= impact_sync.POLL_FIRST
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
    assert job.status == "error" and scheduled[-1] == (job.id, impact_sync.ERROR_POLL)


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
    respx.get(url("CompanyInformation")).respond(200, json={"CompanyName": "Partner", "Timezone": "UTC"})
    campaigns = load("impact_campaigns.json")
    template = campaigns["Campaigns"][0]
    campaigns["Campaigns"] = [template | {"CampaignId": str(20000 + n)} for n in range(12)]
    respx.get(url("Campaigns")).respond(200, json=campaigns)
    export = respx.get(url("ClickExport")).respond(200, json=load("impact_clickexport_queued.json"))
    run = start(impact_connection, django_capture_on_commit_callbacks)
    assert export.call_count == 10
    assert "Daily limit of 10 exports reached" in run.note
    assert ClickExportJob.objects.exclude(status="requesting").count() == 10


@pytest.mark.parametrize(
    "tz, now, day",
    [
        # Auckland is UTC+13 in March: its 2 March ends at 11:00 UTC.
        ("Pacific/Auckland", "2026-03-02T10:59:59+00:00", "2026-03-01"),
        ("Pacific/Auckland", "2026-03-02T11:00:00+00:00", "2026-03-02"),
        # Los Angeles is UTC-8 in February: its 1 March ends at 08:00 UTC on 2 March.
        ("America/Los_Angeles", "2026-03-02T04:00:00+00:00", "2026-02-28"),
        ("America/Los_Angeles", "2026-03-02T07:59:59+00:00", "2026-02-28"),
        ("America/Los_Angeles", "2026-03-02T08:00:00+00:00", "2026-03-01"),
        # UTC-7 once summer time started (8 March 2026).
        ("America/Los_Angeles", "2026-03-10T06:59:59+00:00", "2026-03-08"),
        ("America/Los_Angeles", "2026-03-10T07:00:00+00:00", "2026-03-09"),
        ("UTC", "2026-03-02T00:00:00+00:00", "2026-03-01"),
    ],
)
def test_the_export_day_is_the_last_day_that_has_ended_in_the_account_time_zone(tz, now, day):
    from zoneinfo import ZoneInfo

    assert impact_sync.click_export_day(ZoneInfo(tz), datetime.fromisoformat(now)).isoformat() == day


def at(monkeypatch, moment: str) -> datetime:
    fixed = datetime.fromisoformat(moment)
    monkeypatch.setattr("networks.services.impact.timezone.now", lambda: fixed)
    return fixed


@respx.mock
def test_just_before_midnight_in_los_angeles_the_running_day_is_not_asked_for(
    impact_connection, scheduled, django_capture_on_commit_callbacks, monkeypatch
):
    # 07:30 UTC on 2 March is 23:30 on 1 March in Los Angeles: 1 March has not ended there.
    at(monkeypatch, "2026-03-02T07:30:00+00:00")
    export = mock_request_side(timezone="America/Los_Angeles")
    run = start(impact_connection, django_capture_on_commit_callbacks)
    assert export.calls.last.request.url.params["Date"] == "2026-02-28"
    assert ClickExportJob.objects.get(connection=impact_connection).date.isoformat() == "2026-02-28"
    impact_connection.refresh_from_db()
    assert impact_connection.network_timezone == "America/Los_Angeles"
    assert run.window_start == datetime.fromisoformat("2026-02-28T08:00:00+00:00")
    assert run.window_end == datetime.fromisoformat("2026-03-01T08:00:00+00:00")


@pytest.mark.parametrize("refusal", [403, 404])
@respx.mock
def test_without_company_information_the_connection_time_zone_setting_is_used(
    impact_connection, scheduled, django_capture_on_commit_callbacks, monkeypatch, refusal
):
    impact_connection.timezone = "Pacific/Auckland"
    impact_connection.save()
    # 11:30 UTC on 2 March is 00:30 on 3 March in Auckland: 2 March has just ended there.
    at(monkeypatch, "2026-03-02T11:30:00+00:00")
    mock_request_side()
    respx.get(url("CompanyInformation")).respond(refusal, json={"Status": "ERROR", "Message": "No"})
    export = respx.get(url("ClickExport")).respond(200, json=load("impact_clickexport_queued.json"))
    start(impact_connection, django_capture_on_commit_callbacks)
    assert export.calls.last.request.url.params["Date"] == "2026-03-02"


@respx.mock
def test_when_campaigns_are_refused_the_programs_come_from_the_synced_actions(
    impact_connection, scheduled, django_capture_on_commit_callbacks
):
    from tests.networks.helpers import actions_page, sample_action, serve_once

    forbidden = {"Status": "ERROR", "Message": "Forbidden"}
    respx.get(url("CompanyInformation")).respond(403, json=forbidden)
    campaigns = respx.get(url("Campaigns")).respond(403, json=forbidden)
    export = respx.get(url("ClickExport")).respond(200, json=load("impact_clickexport_queued.json"))
    # No programs known yet: nothing to export, and the run says why.
    first = start(impact_connection, django_capture_on_commit_callbacks)
    assert first.status == "succeeded" and export.call_count == 0
    assert "may not read Campaigns (403)" in first.note and "none yet" in first.note

    # An Actions sync notes each action's program.
    records = [sample_action(0), sample_action(1, Id="27154.1.1", CampaignId="27154", CampaignName="Other Co")]
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page(records)))
    actions = services.start_sync_run(connection=impact_connection, kind="actions", trigger="manual")
    services.execute_sync_run(run=actions)
    assert set(NetworkProgram.objects.filter(connection=impact_connection).values_list("program_id", "name")) == {
        ("1000", "Acme Campaign"),
        ("27154", "Other Co"),
    }

    ClickExportJob.objects.all().delete()
    SyncRun.objects.filter(kind="clicks").update(status="succeeded")
    second = start(impact_connection, django_capture_on_commit_callbacks)
    assert campaigns.call_count == 2
    assert sorted(c.request.url.params["ProgramId"] for c in export.calls) == ["1000", "27154"]
    assert second.status == "waiting" and "programs come from the synced actions" in second.note


def test_the_daily_export_is_scheduled_for_the_morning_in_the_account_time_zone():
    from zoneinfo import ZoneInfo

    la = ZoneInfo("America/Los_Angeles")
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 02:00 in Los Angeles
    assert runs.next_run_time(impact_sync.ADAPTER, "clicks", now, la) == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert runs.next_run_time(impact_sync.ADAPTER, "clicks", now + timedelta(hours=3), la) == datetime(
        2026, 3, 3, 12, 0, tzinfo=UTC
    )
