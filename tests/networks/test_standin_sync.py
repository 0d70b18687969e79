"""A full sync against the local stand-in server (real HTTP, no mocks)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from time import sleep as real_sleep  # imported before the suite turns time.sleep off

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


def client_for_standin(server):
    from networks.impact import ImpactClient
    from tests.tools.impact_standin import TOKEN

    return ImpactClient(account_sid=SID, auth_token=TOKEN, base_url=server.url, retries=0)


def test_it_can_serve_two_actions_on_one_sub_id1():
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with StandinServer(actions=10, start=end - timedelta(days=5), end=end, twin_every=5) as server:
        with client_for_standin(server) as client:
            records = next(client.iter_actions(start=end - timedelta(days=6), end=end)).records
    by_sub = {}
    for r in records:
        by_sub.setdefault(r["SubId1"], []).append(r["Id"])
    twins = {sub: ids for sub, ids in by_sub.items() if len(ids) > 1}
    assert twins == {
        "hub-click-000000": ["1000.4636.0", "1000.4636.1"],
        "hub-click-000005": ["1000.4636.5", "1000.4636.6"],
    }


def test_it_can_modify_an_approved_action_as_impact_does():
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with StandinServer(actions=10, start=end - timedelta(days=5), end=end) as server:
        data = server.standin
        data.approved.add(3)
        with client_for_standin(server) as client:
            before = client.action("1000.4636.3")
            assert before["State"] == "APPROVED"
            data.modify(3, amount="10.00", payout="0.50")
            after = client.action("1000.4636.3")
            now = datetime.now(UTC) + timedelta(minutes=1)
            feed = next(client.iter_action_updates(start=now - timedelta(hours=1), end=now)).records
            window = next(client.iter_actions(start=now - timedelta(hours=1), end=now)).records
    assert (after["State"], after["Amount"], after["Payout"]) == ("PENDING", "10.00", "0.50")
    assert after["LockingDate"] > before["LockingDate"]
    assert [u["Id"] for u in feed] == ["1000.4636.3.3"]
    assert feed[0]["State"] == "PENDING" and feed[0]["ActionId"] == "1000.4636.3"
    assert feed[0]["DeltaAmount"] == f"{10 - float(before['Amount']):.2f}"
    # The Actions listing by last-update date has it where it was modified.
    assert [a["Id"] for a in window] == ["1000.4636.3"]


def test_a_429_on_action_updates_holds_back_every_sync_of_the_connection(standin, workspace, monkeypatch):
    from django.utils import timezone

    from networks import tasks

    monkeypatch.setattr(tasks.run_sync, "apply_async", lambda args, countdown: None)
    data = standin.standin
    data.retry_after = 2
    data.throttle["ActionUpdates"] = 1
    conn = make_impact_connection(workspace, sid=SID)
    updates = services.start_sync_run(connection=conn, kind="updates", trigger="manual")
    assert services.execute_sync_run(run=updates).retry_in == 2
    actions = services.start_sync_run(connection=conn, kind="actions", trigger="manual")
    outcome = services.execute_sync_run(run=actions)
    assert outcome.retry_in is not None and outcome.retry_in <= 3
    assert data.early_requests == 0  # nothing asked before Retry-After
    assert not any("/Actions?" in r for r in data.requests)
    real_sleep(2.1)
    for run in (updates, actions):
        SyncRun.objects.filter(id=run.id).update(retry_at=timezone.now())
        services.execute_sync_run(run=run)
        run.refresh_from_db()
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert data.early_requests == 0


def test_a_thousand_modified_actions_cost_a_handful_of_requests(workspace):
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with StandinServer(actions=3000, start=end - timedelta(days=30), end=end) as server:
        data = server.standin
        now = datetime.now(UTC).replace(microsecond=0)
        changed = [i for i in range(1, 3000) if i % 50][:1000]
        for n, i in enumerate(changed):
            data.modify(i, amount="12.34", payout="1.23", at=now - timedelta(hours=3) + timedelta(seconds=n * 9))
        from django.test import override_settings

        with override_settings(IMPACT_API_BASE_URL=server.url):
            conn = make_impact_connection(workspace, sid=SID)
            run = services.start_sync_run(connection=conn, kind="updates", trigger="manual")
            services.execute_sync_run(run=run)
        run.refresh_from_db()
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        singles = [r for r in data.requests if "/Actions/" in r]
        assert singles == []
        assert run.requests <= 5, data.requests
    modified = Conversion.objects.filter(connection=conn, external_id__in=[f"1000.4636.{i}" for i in changed])
    assert modified.count() == 1000
    assert set(modified.values_list("sale_amount", flat=True)) == {Decimal("12.34")}


def test_an_approved_action_impact_modifies_reaches_its_conversion_through_the_change_feed(workspace):
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with StandinServer(actions=10, start=end - timedelta(days=5), end=end) as server:
        from django.test import override_settings

        data = server.standin
        data.approved.add(3)
        with override_settings(IMPACT_API_BASE_URL=server.url):
            conn = make_impact_connection(workspace, sid=SID)
            actions = services.start_sync_run(connection=conn, kind="actions", trigger="manual")
            services.execute_sync_run(run=actions)
            conversion = Conversion.objects.get(connection=conn, external_id="1000.4636.3")
            assert conversion.status == "approved"
            data.modify(3, amount="10.00", payout="0.50", at=datetime.now(UTC) - timedelta(minutes=1))
            updates = services.start_sync_run(connection=conn, kind="updates", trigger="manual")
            services.execute_sync_run(run=updates)
    updates.refresh_from_db()
    assert updates.status == SyncRun.Status.SUCCEEDED, updates.error
    conversion.refresh_from_db()
    assert (conversion.status, conversion.sale_amount, conversion.network_payout) == (
        "pending",
        Decimal("10.00"),
        Decimal("0.50"),
    )
    assert not [r for r in data.requests if "/Actions/" in r]  # read through a window, not one by one
