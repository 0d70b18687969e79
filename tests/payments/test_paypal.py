"""The PayPal rail against respx stand-ins shaped like PayPal's Payouts API answers."""

import json
from decimal import Decimal
from pathlib import Path
from unittest import mock

import httpx
import pytest
import respx

from payments import services
from payments.models import AccountKind, Payment, PaymentBatch
from payments.rails import PayPalClient, PayPalError
from payments.selectors import check_ledger
from payments.tasks import poll_paypal_batches, send_paypal_batch
from tests.payments.helpers import balance, convert, drain, fund, make_connection, make_member, payable

D = Decimal
BASE = "https://paypal.test"
FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name, **replace):
    text = (FIXTURES / name).read_text()
    for key, value in replace.items():
        text = text.replace(f"__{key}__", value)
    return json.loads(text)


@pytest.fixture(autouse=True)
def paypal_settings(settings):
    settings.PAYPAL_API_BASE_URL = BASE
    settings.PAYPAL_CLIENT_ID = "client-id"
    settings.PAYPAL_CLIENT_SECRET = "client-secret"


@pytest.fixture
def batch(workspace):
    conn = make_connection(workspace)
    ann, ben = make_member(workspace, "Ann"), make_member(workspace, "Ben")
    convert(conn, ann, sale="300.00")
    convert(conn, ben, sale="150.00")
    drain()
    fund(workspace, D("100.00"))
    with mock.patch("payments.tasks.send_paypal_batch.delay"):
        batch, _ = services.create_payment_run(
            workspace=workspace,
            idempotency_key="run-42",
            rail="paypal",
            currency="USD",
            member_ids=[ann.pk, ben.pk],
        )
    return batch


def mock_token(router):
    return router.post(f"{BASE}/v1/oauth2/token").mock(
        return_value=httpx.Response(200, json=fixture("paypal_token.json"))
    )


@respx.mock
def test_it_sends_one_payout_batch_keyed_by_the_run(batch):
    token = mock_token(respx)
    create = respx.post(f"{BASE}/v1/payments/payouts").mock(
        return_value=httpx.Response(201, json=fixture("paypal_create_payout.json", SENDER_BATCH_ID="run-42"))
    )
    send_paypal_batch(batch.pk)
    assert token.called
    request = token.calls.last.request
    assert request.headers["Authorization"].startswith("Basic ")
    assert b"grant_type=client_credentials" in request.content
    sent = create.calls.last.request
    body = json.loads(sent.content)
    assert sent.headers["Authorization"] == "Bearer A21AAJ-test-access-token"
    assert sent.headers["PayPal-Request-Id"] == "run-42"
    assert body["sender_batch_header"]["sender_batch_id"] == "run-42"
    items = {i["receiver"]: i for i in body["items"]}
    assert {i["amount"]["value"] for i in items.values()} == {"30.00", "15.00"}
    assert {i["sender_item_id"] for i in body["items"]} == {str(p.code) for p in batch.payments.all()}
    batch.refresh_from_db()
    assert (batch.status, batch.external_id) == ("processing", "5UXD2E8A7EBQJ")
    # Sending again does nothing: the run is no longer queued.
    send_paypal_batch(batch.pk)
    assert create.call_count == 1


@respx.mock
@pytest.mark.parametrize(
    ("status", "expected", "gives_back"),
    [
        ("FAILED", "failed", True),
        ("RETURNED", "returned", True),
        ("UNCLAIMED", "unclaimed", False),
        ("PENDING", "pending", False),
    ],
)
def test_polling_applies_each_items_outcome(batch, workspace, status, expected, gives_back):
    PaymentBatch.objects.filter(pk=batch.pk).update(status="processing", external_id="5UXD2E8A7EBQJ")
    ann_payment = batch.payments.get(member__name="Ann")
    ben_payment = batch.payments.get(member__name="Ben")
    mock_token(respx)
    respx.get(f"{BASE}/v1/payments/payouts/5UXD2E8A7EBQJ").mock(
        return_value=httpx.Response(
            200,
            json=fixture(
                "paypal_payout_status.json",
                SENDER_BATCH_ID="run-42",
                ITEM_0=str(ann_payment.code),
                ITEM_1=str(ben_payment.code),
                STATUS_1=status,
            ),
        )
    )
    assert poll_paypal_batches() == 1
    ann_payment.refresh_from_db()
    ben_payment.refresh_from_db()
    assert (ann_payment.status, ann_payment.reference) == ("paid", "0C413693MN970190K")
    assert ben_payment.status == expected
    assert payable(workspace, ben_payment.member) == (D("15.00") if gives_back else 0)
    assert balance(workspace, AccountKind.AVAILABLE) == D("55.00") + (D("15.00") if gives_back else 0)
    batch.refresh_from_db()
    assert batch.status == ("completed" if gives_back else "processing")
    # Polling the same answer again changes nothing.
    poll_paypal_batches()
    assert payable(workspace, ben_payment.member) == (D("15.00") if gives_back else 0)
    assert check_ledger(workspace=workspace).ok


@respx.mock
def test_a_refused_batch_fails_every_item_and_gives_the_money_back(batch, workspace):
    mock_token(respx)
    respx.post(f"{BASE}/v1/payments/payouts").mock(
        return_value=httpx.Response(400, json=fixture("paypal_validation_error.json"))
    )
    send_paypal_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == "failed"
    assert "VALIDATION_ERROR" in batch.status_message and "items[0].receiver" in batch.status_message
    assert set(batch.payments.values_list("status", flat=True)) == {"failed"}
    assert balance(workspace, AccountKind.AVAILABLE) == D("100.00")
    assert check_ledger(workspace=workspace).ok


@respx.mock
def test_a_server_error_is_retried_with_the_same_ids(batch):
    mock_token(respx)
    respx.post(f"{BASE}/v1/payments/payouts").mock(
        return_value=httpx.Response(503, json={"name": "SERVICE_UNAVAILABLE", "message": "try later"})
    )
    with mock.patch.object(send_paypal_batch, "retry", side_effect=RuntimeError("retry")) as retry:
        with pytest.raises(RuntimeError, match="retry"):
            send_paypal_batch(batch.pk)
    assert retry.call_args.kwargs["exc"].transient
    batch.refresh_from_db()
    assert batch.status == "queued"
    assert set(batch.payments.values_list("status", flat=True)) == {"pending"}


@respx.mock
def test_bad_credentials_are_reported_clearly():
    respx.post(f"{BASE}/v1/oauth2/token").mock(
        return_value=httpx.Response(
            401, json={"error": "invalid_client", "error_description": "Client Authentication failed"}
        )
    )
    client = PayPalClient(base_url=BASE, client_id="x", client_secret="y")
    with pytest.raises(PayPalError) as info:
        client.get_payout("5UXD2E8A7EBQJ")
    assert info.value.status_code == 401 and not info.value.transient
    assert "invalid_client: Client Authentication failed" in info.value.message


@respx.mock
def test_network_errors_are_transient():
    respx.post(f"{BASE}/v1/oauth2/token").mock(side_effect=httpx.ConnectError("refused"))
    client = PayPalClient(base_url=BASE, client_id="x", client_secret="y")
    with pytest.raises(PayPalError) as info:
        client.token()
    assert info.value.transient


def test_missing_credentials_fail_a_queued_run(batch, settings, workspace):
    settings.PAYPAL_CLIENT_ID = ""
    send_paypal_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == "failed" and "not configured" in batch.status_message
    assert balance(workspace, AccountKind.AVAILABLE) == D("100.00")
    assert Payment.objects.filter(status="failed").count() == 2
