"""The Networks pages: list, add/edit with a real credential check, secrets, Sync now, progress."""

import logging

import pytest
import respx
from django.contrib.auth.hashers import check_password
from django.urls import reverse

from networks import tasks
from networks.crypto import decrypt_credentials
from networks.models import SyncRun
from offers.models import NetworkConnection
from tests.conftest import set_role
from tests.networks.conftest import SID, impact_url, make_impact_connection

TOKEN = "s3cret-token-never-shown-Zq9"
pytestmark = pytest.mark.django_db


def impact_form(**changes):
    data = {
        "kind": "impact",
        "label": "Impact main",
        "currency": "USD",
        "settlement_day": "1",
        "account_sid": SID,
        "auth_token": TOKEN,
        "sync_enabled": "on",
    }
    data.update(changes)
    return data


def test_it_shows_a_helpful_empty_state(alice_client):
    response = alice_client.get(reverse("networks:list"))
    assert response.status_code == 200
    assert b"No network connected yet" in response.content
    assert b"No syncs yet" in response.content


@respx.mock
def test_adding_impact_checks_credentials_and_never_shows_the_token(alice_client, workspace, caplog):
    caplog.set_level(logging.DEBUG)
    check = respx.get(impact_url("CompanyInformation")).respond(200, json={"CompanyName": "Partner", "Currency": "USD"})
    response = alice_client.post(reverse("networks:add"), impact_form())
    assert response.status_code == 302
    conn = NetworkConnection.objects.get(workspace=workspace)
    assert check.call_count == 1
    assert check.calls.last.request.headers["Accept"] == "application/json"
    assert conn.account_sid == SID and conn.status == "active" and conn.credentials_checked_at
    assert TOKEN not in conn.credentials_encrypted
    assert decrypt_credentials(conn.credentials_encrypted) == {"auth_token": TOKEN}
    for page in (reverse("networks:list"), reverse("networks:detail", args=[conn.code])):
        body = alice_client.get(page).content.decode()
        assert TOKEN not in body
    edit = alice_client.get(reverse("networks:edit", args=[conn.code])).content.decode()
    assert TOKEN not in edit and "Saved; enter a new token to replace it." in edit
    assert TOKEN not in caplog.text


@respx.mock
def test_a_rejected_token_is_explained_and_nothing_is_saved(alice_client, workspace):
    respx.get(impact_url("CompanyInformation")).respond(401, json={"Status": "ERROR", "Message": "Unauthorized"})
    response = alice_client.post(reverse("networks:add"), impact_form())
    assert response.status_code == 400
    assert "Impact rejected this Account SID and Auth Token" in response.content.decode()
    assert TOKEN not in response.content.decode()
    assert not NetworkConnection.objects.filter(workspace=workspace).exists()


@respx.mock
def test_a_token_with_only_the_required_scopes_connects_and_says_what_it_may_not_read(alice_client, workspace):
    # Scoped to Actions, Clicks and Jobs Management: CompanyInformation answers 403.
    respx.get(impact_url("CompanyInformation")).respond(403, json={"Status": "ERROR", "Message": "Forbidden"})
    probe = respx.get(impact_url("Actions")).respond(200, json=ACTIONS_EMPTY)
    response = alice_client.post(reverse("networks:add"), impact_form(timezone="America/Los_Angeles"), follow=True)
    assert response.status_code == 200
    conn = NetworkConnection.objects.get(workspace=workspace)
    assert conn.status == "active" and conn.credentials_checked_at
    assert (conn.timezone, conn.network_timezone) == ("America/Los_Angeles", "")
    # The cheap check: one Actions request over a minute.
    assert probe.call_count == 1
    params = probe.calls.last.request.url.params
    assert params["EndDate"] > params["StartDate"] and params["PageSize"] == "2000"
    page = response.content.decode()
    assert "may not read CompanyInformation (403)" in page
    assert "time zone is therefore taken from this connection&#x27;s setting (America/Los_Angeles)" in page
    assert "Actions scope" not in page  # Actions are readable
    edit = alice_client.get(reverse("networks:edit", args=[conn.code])).content.decode()
    assert "this token may not read CompanyInformation), so set it here" in edit


@respx.mock
def test_a_token_that_may_not_read_actions_either_is_saved_with_that_said(alice_client, workspace):
    forbidden = {"Status": "ERROR", "Message": "Forbidden"}
    respx.get(impact_url("CompanyInformation")).respond(403, json=forbidden)
    respx.get(impact_url("Actions")).respond(403, json=forbidden)
    response = alice_client.post(reverse("networks:add"), impact_form(), follow=True)
    conn = NetworkConnection.objects.get(workspace=workspace)
    assert conn.status == "active"
    assert "may not read CompanyInformation or Actions (403)" in conn.status_message
    assert "fail until the token has the Actions scope" in response.content.decode()


@respx.mock
def test_the_account_time_zone_comes_from_company_information_when_readable(alice_client, workspace):
    respx.get(impact_url("CompanyInformation")).respond(
        200, json={"CompanyName": "Partner", "Currency": "NZD", "Timezone": "Pacific/Auckland"}
    )
    alice_client.post(reverse("networks:add"), impact_form())
    conn = NetworkConnection.objects.get(workspace=workspace)
    assert (conn.timezone, conn.network_timezone, conn.status_message) == ("UTC", "Pacific/Auckland", "")
    assert str(conn.account_timezone) == "Pacific/Auckland"
    edit = alice_client.get(reverse("networks:edit", args=[conn.code])).content.decode()
    assert "Impact reports the account&#x27;s time zone as Pacific/Auckland (CompanyInformation)" in edit


def test_an_unknown_time_zone_is_refused_next_to_the_field(alice_client, workspace):
    response = alice_client.post(reverse("networks:add"), impact_form(timezone="Mars/Olympus"))
    assert response.status_code == 400
    assert response.context["form"].errors["timezone"]
    assert not NetworkConnection.objects.filter(workspace=workspace).exists()


@respx.mock
def test_a_malformed_account_sid_is_refused_without_calling_impact(alice_client):
    route = respx.get(url__startswith="https://impact.test/").respond(200, json={})
    response = alice_client.post(reverse("networks:add"), impact_form(account_sid="AC1234"))
    assert response.status_code == 400
    assert "34 characters and starts with IR" in response.content.decode()
    assert route.call_count == 0


def test_ip_allowlist_and_basic_auth_are_validated_and_hashed(alice_client, workspace):
    form = {"kind": "generic", "label": "Other", "currency": "EUR", "settlement_day": "20"}
    bad = alice_client.post(reverse("networks:add"), {**form, "ip_allowlist": "10.0.0.0/8\nnot-an-ip"})
    assert bad.status_code == 400 and "not-an-ip" in bad.content.decode()
    ok = alice_client.post(
        reverse("networks:add"),
        {
            **form,
            "ip_allowlist": "203.0.113.7/24, 2001:db8::/32",
            "basic_auth_username": "net",
            "basic_auth_password": "pw-123456",
        },
    )
    assert ok.status_code == 302
    conn = NetworkConnection.objects.get(workspace=workspace, kind="generic")
    assert conn.ip_allowlist == "203.0.113.0/24\n2001:db8::/32"
    assert conn.basic_auth_password_hash != "pw-123456" and check_password("pw-123456", conn.basic_auth_password_hash)


@respx.mock
def test_editing_without_a_new_token_keeps_the_credentials_without_a_call(alice_client, workspace):
    conn = make_impact_connection(workspace)
    stored = conn.credentials_encrypted
    route = respx.get(url__startswith="https://impact.test/").respond(200, json={})
    response = alice_client.post(
        reverse("networks:edit", args=[conn.code]), impact_form(label="Renamed", auth_token="", kind="")
    )
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.label == "Renamed" and conn.credentials_encrypted == stored and conn.kind == "impact"
    assert route.call_count == 0


@respx.mock
def test_new_credentials_repair_a_broken_connection(alice_client, workspace):
    conn = make_impact_connection(workspace, status="broken", status_message="Impact rejected ...")
    respx.get(impact_url("CompanyInformation")).respond(200, json={"CompanyName": "Partner"})
    response = alice_client.post(reverse("networks:edit", args=[conn.code]), impact_form(auth_token="new-token-1"))
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.status == "active" and conn.status_message == ""
    assert decrypt_credentials(conn.credentials_encrypted)["auth_token"] == "new-token-1"


def test_rotating_the_postback_secret_needs_confirmation_and_kills_the_old_url(alice_client, client, workspace):
    conn = make_impact_connection(workspace)
    old = conn.postback_secret
    alice_client.post(reverse("networks:rotate_secret", args=[conn.code]))
    conn.refresh_from_db()
    assert conn.postback_secret == old
    alice_client.post(reverse("networks:rotate_secret", args=[conn.code]), {"confirm": "yes"})
    conn.refresh_from_db()
    assert conn.postback_secret != old
    stale = client.get(reverse("tracking:postback", kwargs={"network": "impact", "secret": old}), {"action_id": "1"})
    assert stale.status_code == 404


def test_sync_now_starts_one_run_at_a_time(alice_client, workspace, monkeypatch, django_capture_on_commit_callbacks):
    conn = make_impact_connection(workspace)
    queued = []
    monkeypatch.setattr(tasks.run_sync, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("networks:sync_now", args=[conn.code, "actions"]), follow=True)
    run = SyncRun.objects.get(connection=conn)
    assert queued == [run.id] and run.trigger == "manual"
    assert "Actions sync of Impact started." in response.content.decode()
    page = response.content.decode()
    assert f'hx-get="{reverse("networks:run_progress", args=[run.code])}"' in page and 'hx-trigger="every 2s"' in page
    again = alice_client.post(reverse("networks:sync_now", args=[conn.code, "actions"]), follow=True)
    assert "already running" in again.content.decode()
    assert SyncRun.objects.filter(connection=conn).count() == 1


def test_the_progress_partial_stops_polling_when_done(alice_client, workspace):
    conn = make_impact_connection(workspace)
    run = SyncRun.objects.create(
        workspace=workspace, connection=conn, kind="actions", status="running", progress=40, pages_done=2, pages_total=5
    )
    body = alice_client.get(reverse("networks:run_progress", args=[run.code])).content.decode()
    assert 'value="40"' in body and "every 2s" in body and "2/5 pages" in body
    SyncRun.objects.filter(id=run.id).update(status="succeeded", created_count=12)
    body = alice_client.get(reverse("networks:run_progress", args=[run.code])).content.decode()
    assert "every 2s" not in body and "12 new" in body


def test_a_viewer_can_look_but_not_change(bob_client, bob, workspace):
    set_role(bob, workspace, "viewer")
    conn = make_impact_connection(workspace)
    assert bob_client.get(reverse("networks:list")).status_code == 200
    assert (
        reverse("networks:sync_now", args=[conn.code, "actions"]) not in bob_client.get("/networks/").content.decode()
    )
    assert bob_client.post(reverse("networks:sync_now", args=[conn.code, "actions"])).status_code == 403
    assert bob_client.get(reverse("networks:add")).status_code == 403
    assert bob_client.post(reverse("networks:rotate_secret", args=[conn.code]), {"confirm": "yes"}).status_code == 403


def test_it_checks_ownership(charlie_client, workspace):
    conn = make_impact_connection(workspace, label="Alice Impact Account")
    assert charlie_client.get(reverse("networks:detail", args=[conn.code])).status_code == 404
    assert charlie_client.post(reverse("networks:sync_now", args=[conn.code, "actions"])).status_code == 404
    assert b"Alice Impact Account" not in charlie_client.get(reverse("networks:list")).content


ACTIONS_EMPTY = {"@page": "1", "@numpages": "1", "@total": "0", "@nextpageuri": "", "Actions": []}


def _plant_history(conn):
    """What seeddemo used to leave on its Impact connection: cursors, finished exports, counts."""
    from datetime import timedelta

    from django.utils import timezone

    from networks.models import ClickExportJob, NetworkClickCount, NetworkProgram, ProcessedActionUpdate, SyncState

    now = timezone.now()
    run = SyncRun.objects.create(workspace=conn.workspace, connection=conn, kind="actions", status="succeeded")
    for kind in ("actions", "updates"):
        SyncState.objects.create(
            workspace=conn.workspace, connection=conn, kind=kind, cursor_at=now - timedelta(hours=1), last_run=run
        )
    yesterday = (now - timedelta(days=1)).date()
    ClickExportJob.objects.create(
        workspace=conn.workspace, connection=conn, program_id="1000", date=yesterday, status="done", rows=5
    )
    NetworkClickCount.objects.create(
        workspace=conn.workspace, connection=conn, program_id="1000", date=yesterday, clicks=5
    )
    ProcessedActionUpdate.objects.create(workspace=conn.workspace, connection=conn, update_id="1.2.3", action_id="1.2")
    NetworkProgram.objects.create(workspace=conn.workspace, connection=conn, program_id="1000")


def _history(conn) -> list[int]:
    from networks.models import ClickExportJob, NetworkClickCount, NetworkProgram, ProcessedActionUpdate, SyncState

    return [
        m.objects.filter(connection=conn).count()
        for m in (SyncRun, SyncState, ClickExportJob, NetworkClickCount, ProcessedActionUpdate, NetworkProgram)
    ]


@respx.mock
def test_entering_credentials_the_first_time_starts_the_sync_history_afresh(alice_client, workspace):
    from datetime import timedelta

    from django.utils import timezone

    from networks import services

    # The demo connection: no credentials, but sync history planted by an older seeddemo.
    conn = NetworkConnection.objects.create(workspace=workspace, kind="impact", label="Impact (demo)")
    _plant_history(conn)
    respx.get(impact_url("CompanyInformation")).respond(200, json={"CompanyName": "Partner"})
    actions = respx.get(impact_url("Actions")).respond(200, json=ACTIONS_EMPTY)
    response = alice_client.post(reverse("networks:edit", args=[conn.code]), impact_form(kind=""))
    assert response.status_code == 302
    assert _history(conn) == [0, 0, 0, 0, 0, 0]
    # The first Actions run reads 90 days, not from the planted cursor.
    run = services.start_sync_run(connection=conn, kind="actions", trigger="manual")
    services.execute_sync_run(run=run)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert timezone.now() - run.window_start >= timedelta(days=90) - timedelta(minutes=1)
    assert actions.calls[0].request.url.params["StartDate"] == run.window_start.strftime("%Y-%m-%dT%H:%M:%SZ")


@respx.mock
def test_another_account_sid_starts_afresh_but_a_new_token_for_the_same_one_does_not(alice_client, workspace):
    conn = make_impact_connection(workspace)
    _plant_history(conn)
    respx.get(url__regex=r".*/CompanyInformation$").respond(200, json={"CompanyName": "Partner"})
    alice_client.post(reverse("networks:edit", args=[conn.code]), impact_form(kind="", auth_token="rotated-1"))
    assert _history(conn) == [1, 2, 1, 1, 1, 1]
    other_sid = "IR" + "B" * 32
    response = alice_client.post(
        reverse("networks:edit", args=[conn.code]), impact_form(kind="", account_sid=other_sid, auth_token="t-2")
    )
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.account_sid == other_sid
    assert _history(conn) == [0, 0, 0, 0, 0, 0]


def test_an_active_run_of_the_old_account_is_failed_not_deleted(workspace):
    from networks import services

    conn = NetworkConnection.objects.create(workspace=workspace, kind="impact", label="Impact")
    active = SyncRun.objects.create(workspace=workspace, connection=conn, kind="updates", status="waiting")
    services.reset_sync_history(connection=conn)
    active.refresh_from_db()
    assert active.status == "failed" and "credentials changed" in active.error
    assert services.start_sync_run(connection=conn, kind="updates", trigger="manual") is not None


def test_sync_now_takes_a_from_date(alice_client, workspace, monkeypatch, django_capture_on_commit_callbacks):
    conn = make_impact_connection(workspace)
    monkeypatch.setattr(tasks.run_sync, "delay", lambda run_id: None)
    detail = alice_client.get(reverse("networks:detail", args=[conn.code])).content.decode()
    assert 'type="date" name="since"' in detail
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("networks:sync_now", args=[conn.code, "updates"]),
            {"since": "2026-01-15", "next": reverse("networks:detail", args=[conn.code])},
        )
    assert response.status_code == 302
    run = SyncRun.objects.get(connection=conn)
    assert (run.kind, run.window_start.isoformat()) == ("updates", "2026-01-15T00:00:00+00:00")


@pytest.mark.parametrize(
    "since, error",
    [
        ("2000-01-01", "Impact keeps actions for 3 years"),
        ("2999-01-01", "not in the future"),
        ("15/01/2026", "Enter a valid date"),
    ],
)
def test_a_bad_from_date_is_explained_next_to_the_field(alice_client, workspace, since, error):
    conn = make_impact_connection(workspace)
    response = alice_client.post(reverse("networks:sync_now", args=[conn.code, "actions"]), {"since": since})
    assert response.status_code == 400
    form = response.context["form"]
    assert error in " ".join(form.errors["since"])
    body = response.content.decode()
    assert body.index('name="since"') < body.index(error)  # the message sits with its field
    assert not SyncRun.objects.filter(connection=conn).exists()


def test_sync_now_says_what_a_waiting_run_waits_for(alice_client, workspace):
    from datetime import timedelta

    from django.utils import timezone

    conn = make_impact_connection(workspace)
    SyncRun.objects.create(
        workspace=workspace,
        connection=conn,
        kind="actions",
        status="waiting",
        retry_at=timezone.now() + timedelta(minutes=20),
        note="Impact asked us to slow down (429); retrying in 1200 s.",
    )
    page = alice_client.post(reverse("networks:sync_now", args=[conn.code, "actions"]), follow=True).content.decode()
    assert "The actions sync of Impact is waiting (Impact asked us to slow down (429)" in page
    assert "it resumes by itself at" in page
    assert "A actions" not in page and "Resume now" not in page


def test_a_waiting_run_nobody_resumed_is_resumed_by_sync_now(
    alice_client, workspace, monkeypatch, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    conn = make_impact_connection(workspace)
    # A command handed it on, but no worker took it: its retry time is long past.
    run = SyncRun.objects.create(
        workspace=workspace,
        connection=conn,
        kind="updates",
        status="waiting",
        trigger="command",
        retry_at=timezone.now() - timedelta(minutes=30),
    )
    detail = alice_client.get(reverse("networks:detail", args=[conn.code])).content.decode()
    assert "Resume now" in detail
    queued = []
    monkeypatch.setattr(tasks.run_sync, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        page = alice_client.post(reverse("networks:sync_now", args=[conn.code, "updates"]), follow=True)
    assert queued == [run.id]
    assert "Action updates sync of Impact resumed" in page.content.decode()
    assert SyncRun.objects.filter(connection=conn).count() == 1


def test_a_progress_bar_whose_run_ended_reloads_the_page_so_every_status_agrees(alice_client, impact_connection):
    from networks import services as network_services

    run = network_services.start_sync_run(connection=impact_connection, kind="actions", trigger="manual")
    url = reverse("networks:run_progress", args=[run.code])
    polling = alice_client.get(url, HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in polling and 'hx-trigger="every 2s"' in polling.content.decode()
    SyncRun.objects.filter(pk=run.pk).update(status="succeeded", pages_done=2, pages_total=1)
    ended = alice_client.get(url, HTTP_HX_REQUEST="true")
    assert ended["HX-Refresh"] == "true"
    assert "2/1" not in alice_client.get(reverse("networks:list")).content.decode()


def test_a_connection_without_credentials_says_it_is_not_syncing(alice_client, workspace):
    NetworkConnection.objects.create(workspace=workspace, kind="impact", label="Impact (demo)")
    page = alice_client.get(reverse("networks:list")).content.decode()
    assert "Not syncing: no API credentials yet." in page and "last:" not in page


@respx.mock
def test_the_connection_form_shows_every_problem_at_once_next_to_its_field(alice_client):
    route = respx.get(url__startswith="https://impact.test/").respond(200, json={})
    response = alice_client.post(
        reverse("networks:add"),
        impact_form(account_sid="AC1234", ip_allowlist="not-an-ip", basic_auth_username="impact", auth_token=""),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "34 characters and starts with IR" in page
    assert "not-an-ip" in page and "is not an IP address" in page
    assert "Enter a password for the postback HTTP Basic auth user" in page
    assert 'value="Impact main"' in page  # what was typed stays
    assert route.call_count == 0


def test_the_click_comparison_leaves_days_without_the_networks_count_empty(alice_client, workspace, impact_connection):
    from datetime import timedelta

    from django.utils import timezone

    from networks.models import NetworkClickCount
    from networks.selectors import click_comparison
    from offers.models import Link, Member, Offer
    from tracking.models import Click

    offer = Offer.objects.create(
        workspace=workspace, name="A", offer_url="https://x.test/?t={transaction_id}", connection=impact_connection
    )
    member = Member.objects.create(workspace=workspace, name="M")
    link = Link.objects.create(workspace=workspace, offer=offer, member=member)
    Click.objects.create(workspace=workspace, transaction_id="c1", link=link, offer=offer, member=member)
    reported = timezone.now().date() - timedelta(days=3)
    NetworkClickCount.objects.create(
        workspace=workspace, connection=impact_connection, program_id="1", date=reported, clicks=7
    )
    rows = {r["date"]: r for r in click_comparison(workspace=workspace, connection=impact_connection)}
    assert rows[reported]["network_clicks"] == 7
    today = [r for d, r in rows.items() if d != reported]
    assert today and today[0]["network_clicks"] is None and today[0]["our_clicks"] == 1
