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
def test_a_token_without_scope_names_what_is_missing(alice_client, workspace):
    respx.get(impact_url("CompanyInformation")).respond(403, json={"Status": "ERROR", "Message": "Forbidden"})
    response = alice_client.post(reverse("networks:add"), impact_form())
    assert response.status_code == 400
    assert "may not read the account&#x27;s CompanyInformation (403)" in response.content.decode()


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
