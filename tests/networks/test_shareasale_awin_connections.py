"""Connecting ShareASale and Awin: credentials checked on save, stored encrypted, errors by the field."""

import logging
import re

import httpx
import pytest
import respx
from django.urls import reverse

from networks.crypto import decrypt_credentials
from offers.models import NetworkConnection
from tests.conftest import set_role
from tests.networks.saa import (
    AFFILIATE_ID,
    API_SECRET,
    API_TOKEN,
    AWIN_BASE,
    AWIN_TOKEN,
    PUBLISHER_ID,
    SHAREASALE_BASE,
    SHAREASALE_URL,
    awin_body,
    make_awin_connection,
    make_shareasale_connection,
    shareasale_body,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _bases(settings):
    settings.SHAREASALE_API_BASE_URL = SHAREASALE_BASE
    settings.AWIN_API_BASE_URL = AWIN_BASE


def shareasale_form(**changes):
    data = {
        "kind": "shareasale",
        "label": "ShareASale main",
        "currency": "USD",
        "settlement_day": "",
        "shareasale_affiliate_id": AFFILIATE_ID,
        "shareasale_api_token": API_TOKEN,
        "shareasale_api_secret": API_SECRET,
        "sync_enabled": "on",
    }
    data.update(changes)
    return data


def awin_form(**changes):
    data = {
        "kind": "awin",
        "label": "Awin creators",
        "currency": "GBP",
        "settlement_day": "",
        "awin_publisher_id": PUBLISHER_ID,
        "awin_api_token": AWIN_TOKEN,
        "sync_enabled": "on",
    }
    data.update(changes)
    return data


def token_count(body: bytes = b"creditsRemaining\r\n176 \r\n"):
    return respx.get(url__startswith=SHAREASALE_URL, params__contains={"action": "apitokencount"}).respond(
        200, content=body
    )


def error_next_to(page: str, field: str) -> str:
    """The error text rendered inside the label that holds ``field``'s input."""
    for label in re.findall(r"<label>.*?</label>", page, re.S):
        if f'name="{field}"' in label:
            return " ".join(re.findall(r'<small class="msg-error" role="alert">(.*?)</small>', label, re.S))
    raise AssertionError(f"no field {field}")


@respx.mock
def test_alice_connects_shareasale_and_sees_the_credits_left(alice_client, workspace, caplog):
    caplog.set_level(logging.DEBUG)
    check = token_count()
    response = alice_client.post(reverse("networks:add"), shareasale_form())
    assert response.status_code == 302
    conn = NetworkConnection.objects.get(workspace=workspace)
    assert check.call_count == 1
    request = check.calls.last.request
    assert request.headers["x-ShareASale-Authentication"] and request.url.params["affiliateId"] == AFFILIATE_ID
    assert conn.kind == "shareasale" and conn.account_sid == AFFILIATE_ID and conn.status == "active"
    assert conn.settlement_day == 20  # ShareASale pays on the 20th
    assert conn.api_credits_left == 176 and conn.api_credits_checked_at == conn.credentials_checked_at
    assert decrypt_credentials(conn.credentials_encrypted) == {"api_token": API_TOKEN, "api_secret": API_SECRET}
    assert API_TOKEN not in conn.credentials_encrypted and API_SECRET not in conn.credentials_encrypted
    detail = alice_client.get(reverse("networks:detail", args=[conn.code])).content.decode()
    assert "API credits left this month" in detail and ">176<" in detail and AFFILIATE_ID in detail
    edit = alice_client.get(reverse("networks:edit", args=[conn.code])).content.decode()
    assert "Saved; enter a new token and secret to replace them." in edit
    assert f'value="{AFFILIATE_ID}"' in edit
    for page in (detail, edit, alice_client.get(reverse("networks:list")).content.decode()):
        assert API_TOKEN not in page and API_SECRET not in page
    assert API_TOKEN not in caplog.text and API_SECRET not in caplog.text


@respx.mock
def test_a_refused_shareasale_token_is_explained_next_to_it_and_nothing_is_saved(alice_client, workspace):
    token_count(shareasale_body("error_4075.txt"))
    response = alice_client.post(reverse("networks:add"), shareasale_form(label="Kept label"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "refused the API token and secret (error code 4075)" in error_next_to(page, "shareasale_api_token")
    assert 'value="Kept label"' in page and f'value="{AFFILIATE_ID}"' in page  # typed values kept
    assert API_TOKEN not in page and API_SECRET not in page
    assert not NetworkConnection.objects.filter(workspace=workspace).exists()


@respx.mock
def test_an_ip_refusal_is_shown_for_the_whole_form(alice_client, workspace):
    token_count(b"Invalid Request - Error Code 4002 - 198.51.100.7")
    response = alice_client.post(reverse("networks:add"), shareasale_form())
    assert response.status_code == 400
    assert "(198.51.100.7) is not among them" in response.content.decode()
    assert not NetworkConnection.objects.filter(workspace=workspace).exists()


@respx.mock
def test_missing_shareasale_values_are_named_without_calling(alice_client):
    route = respx.get(url__startswith=SHAREASALE_BASE).respond(200, content=b"")
    page = alice_client.post(reverse("networks:add"), shareasale_form(shareasale_api_secret="")).content.decode()
    assert "Enter the API secret" in error_next_to(page, "shareasale_api_secret")
    page = alice_client.post(reverse("networks:add"), shareasale_form(shareasale_affiliate_id="abc")).content.decode()
    assert "affiliate id is a number" in error_next_to(page, "shareasale_affiliate_id")
    assert route.call_count == 0


@respx.mock
def test_shareasale_without_api_credentials_takes_postbacks_only(alice_client, workspace):
    route = respx.get(url__startswith=SHAREASALE_BASE).respond(200, content=b"")
    response = alice_client.post(
        reverse("networks:add"),
        shareasale_form(shareasale_affiliate_id="", shareasale_api_token="", shareasale_api_secret=""),
    )
    assert response.status_code == 302 and route.call_count == 0
    conn = NetworkConnection.objects.get(workspace=workspace)
    assert conn.credentials_encrypted == "" and conn.settlement_day == 20
    detail = alice_client.get(reverse("networks:detail", args=[conn.code])).content.decode()
    assert "not set (postbacks only)" in detail


@respx.mock
def test_editing_shareasale_without_new_secrets_keeps_them_without_a_call(alice_client, workspace):
    conn = make_shareasale_connection(workspace)
    stored = conn.credentials_encrypted
    route = respx.get(url__startswith=SHAREASALE_BASE).respond(200, content=b"")
    response = alice_client.post(
        reverse("networks:edit", args=[conn.code]),
        shareasale_form(label="Renamed", settlement_day="21", shareasale_api_token="", shareasale_api_secret=""),
    )
    assert response.status_code == 302 and route.call_count == 0
    conn.refresh_from_db()
    assert conn.label == "Renamed" and conn.credentials_encrypted == stored and conn.settlement_day == 21


@respx.mock
def test_alice_connects_awin_and_the_publisher_must_be_among_the_accounts(alice_client, workspace):
    check = respx.get(f"{AWIN_BASE}/accounts").respond(200, content=awin_body("accounts.json"))
    response = alice_client.post(reverse("networks:add"), awin_form(awin_publisher_id="99999"))
    assert response.status_code == 400
    message = error_next_to(response.content.decode(), "awin_publisher_id")
    assert "cannot see Awin publisher account 99999" in message and "45628 (Alice Brand Creators)" in message
    assert not NetworkConnection.objects.filter(workspace=workspace).exists()
    response = alice_client.post(reverse("networks:add"), awin_form())
    assert response.status_code == 302 and check.call_count == 2
    assert check.calls.last.request.headers["Authorization"] == f"Bearer {AWIN_TOKEN}"
    conn = NetworkConnection.objects.get(workspace=workspace)
    assert conn.kind == "awin" and conn.account_sid == PUBLISHER_ID and conn.currency == "GBP"
    assert conn.settlement_day == 15  # Awin's later payment run of the month
    assert decrypt_credentials(conn.credentials_encrypted) == {"api_token": AWIN_TOKEN}
    detail = alice_client.get(reverse("networks:detail", args=[conn.code])).content.decode()
    assert PUBLISHER_ID in detail and AWIN_TOKEN not in detail


@respx.mock
def test_a_refused_awin_token_is_explained_next_to_it(alice_client, workspace):
    respx.get(f"{AWIN_BASE}/accounts").mock(return_value=httpx.Response(401, content=awin_body("error_401.json")))
    response = alice_client.post(reverse("networks:add"), awin_form())
    assert response.status_code == 400
    message = error_next_to(response.content.decode(), "awin_api_token")
    assert "refused this API token (401): The access token is invalid or has been revoked" in message
    assert AWIN_TOKEN not in response.content.decode()


def test_an_explicit_settlement_day_is_kept(alice_client, workspace):
    response = alice_client.post(
        reverse("networks:add"), awin_form(settlement_day="1", awin_publisher_id="", awin_api_token="")
    )
    assert response.status_code == 302
    assert NetworkConnection.objects.get(workspace=workspace).settlement_day == 1


def test_the_form_knows_each_networks_usual_pay_day(alice_client):
    page = alice_client.get(reverse("networks:add")).content.decode()
    assert "data-kind-switch" in page and "&quot;shareasale&quot;: 20" in page and "&quot;awin&quot;: 15" in page
    assert 'data-kind="shareasale"' in page and 'data-kind="awin"' in page


def test_a_viewer_cannot_connect_a_network(bob_client, bob, workspace):
    set_role(bob, workspace, "viewer")
    assert bob_client.get(reverse("networks:add")).status_code == 403
    assert bob_client.post(reverse("networks:add"), shareasale_form()).status_code == 403
    conn = make_shareasale_connection(workspace)
    assert bob_client.post(reverse("networks:edit", args=[conn.code]), shareasale_form()).status_code == 403
    assert not NetworkConnection.objects.filter(workspace=workspace).exclude(id=conn.id).exists()


def test_it_checks_ownership(charlie_client, workspace):
    for conn in (make_shareasale_connection(workspace, label="Alice SAS"), make_awin_connection(workspace)):
        assert charlie_client.get(reverse("networks:detail", args=[conn.code])).status_code == 404
        assert charlie_client.get(reverse("networks:edit", args=[conn.code])).status_code == 404
        assert charlie_client.post(reverse("networks:edit", args=[conn.code]), awin_form()).status_code == 404
    assert b"Alice SAS" not in charlie_client.get(reverse("networks:list")).content
