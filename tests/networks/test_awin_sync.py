"""Awin syncs: transactions by transaction date and by validation date, through the conversion core."""

import copy
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import respx
from django.utils import timezone

from networks import services
from networks.models import NetworkPayout, SyncRun
from offers.models import Link, Member, Offer
from payments import lib
from payments import services as payments
from payments.models import AccountKind, Payment
from payments.selectors import check_ledger
from tests.networks.saa import AWIN_BASE, awin_body, in_chunks, make_awin_connection, transactions_url
from tests.payments.helpers import balance, drain, payable
from tracking.models import Click, Conversion

pytestmark = pytest.mark.django_db
D = Decimal
TID = "3f9c2a7be1d04c58a6b0d2e4f7a81c93"


@pytest.fixture(autouse=True)
def _base(settings):
    settings.AWIN_API_BASE_URL = AWIN_BASE


@pytest.fixture
def shop(workspace):
    conn = make_awin_connection(workspace, currency="GBP")
    member = Member.objects.create(workspace=workspace, name="Ava", paypal_email="ava@creators.test")
    offer = Offer.objects.create(
        workspace=workspace,
        name="Outdoor",
        offer_url="https://www.awin1.com/cread.php?awinmid=7052&awinaffid=45628&clickref2={transaction_id}",
        connection=conn,
        payout_type="passthrough",
    )
    link = Link.objects.create(workspace=workspace, offer=offer, member=member)
    Click.objects.create(workspace=workspace, transaction_id=TID, link=link, offer=offer, member=member)
    return {"connection": conn, "member": member}


def transaction(tx_id=259630312, *, when: date, status="pending", sale=55.96, commission=5.59, **changes):
    tx = copy.deepcopy(json.loads(awin_body("transactions.json"))[0])
    tx.update(
        {
            "id": tx_id,
            "commissionStatus": status,
            "saleAmount": {"amount": sale, "currency": "GBP"},
            "commissionAmount": {"amount": commission, "currency": "GBP"},
            "clickRefs": {"clickRef2": TID},
            "transactionDate": f"{when:%Y-%m-%d}T08:11:00",
        }
    )
    tx.update(changes)
    return tx


def listing(*answers, calls=None):
    """Each transactions request gets the next answer (a list of transactions, or a Response); then []."""

    def respond(request):
        if calls is not None:
            calls.append(request)
        index = len(calls) - 1 if calls is not None else 0
        answer = answers[index] if index < len(answers) else []
        if isinstance(answer, httpx.Response):
            return answer
        body = json.dumps(answer).encode()
        return httpx.Response(200, content=iter(in_chunks(body, 97)), headers={"Content-Type": "application/json"})

    return respx.get(url__startswith=transactions_url()).mock(side_effect=respond)


def run_sync(connection, kind="actions", since=None) -> SyncRun:
    run = services.start_sync_run(connection=connection, kind=kind, trigger="manual", since=since)
    services.execute_sync_run(run=run)
    run.refresh_from_db()
    return run


def midnight(day: date):
    return timezone.make_aware(datetime(day.year, day.month, day.day))


@respx.mock
def test_a_sale_from_postback_to_payment(client, workspace, shop):
    conn = shop["connection"]
    today = timezone.localdate()
    pay_day = lib.next_pay_date(today - timedelta(days=10), conn.settlement_day)
    lock_day = (pay_day.replace(day=1) - timedelta(days=1)).replace(day=10)  # validated the month before
    sale_day = lock_day - timedelta(days=6)

    # 1. Awin's postback: our click id in clickref2, no status.
    query = {"clickref2": TID, "amount": "55.96", "commission": "5.59", "currency": "GBP"}
    assert client.get(f"/postback/awin/{conn.postback_secret}", query).content == b"accepted"
    conversion = Conversion.objects.get()
    assert (conversion.status, conversion.external_id) == ("pending", "")

    # 2. The transactions sync: approved on its validation date, paid in payment run 9001.
    approved = transaction(
        when=sale_day,
        status="approved",
        validationDate=f"{lock_day:%Y-%m-%d}T06:00:00",
        paidToPublisher=True,
        paymentId=9001,
    )
    calls = []
    listing([approved], calls=calls)
    run = run_sync(conn, since=midnight(sale_day - timedelta(days=2)))
    assert run.status == "succeeded", run.error
    assert (run.created_count, run.updated_count) == (0, 1)  # the postback's conversion was adopted
    params = calls[0].url.params
    assert (params["timezone"], params["dateType"]) == ("UTC", "transaction")
    conversion.refresh_from_db()
    assert (conversion.external_id, conversion.status) == ("259630312", "approved")
    assert timezone.localdate(conversion.locking_at) == lock_day
    payout = NetworkPayout.objects.get(connection=conn)
    assert (payout.reference, payout.amount, payout.paid_on) == ("9001", D("5.59"), today)

    # 3. Settlement, matched payment, receipt, credit, payment, a clean ledger.
    drain()
    assert payable(workspace, shop["member"], currency="GBP") == D("5.59")
    [settlement] = payments.refresh_expected_settlement(connection=conn, today=pay_day - timedelta(days=3))
    assert (settlement.expected_on, settlement.expected_amount) == (pay_day, D("5.59"))
    assert payments.match_network_payout(settlement=settlement) == payout
    settlement = payments.mark_settlement_received(
        settlement=settlement, amount=payout.amount, received_on=payout.paid_on, reference=payout.reference
    )
    assert payments.credit_settlement(settlement=settlement)
    assert balance(workspace, AccountKind.AVAILABLE, currency="GBP") == D("5.59")
    batch, _ = payments.create_payment_run(
        workspace=workspace,
        idempotency_key="awin-sale-to-payment",
        rail="manual",
        currency="GBP",
        member_ids=[shop["member"].pk],
        reference="BANK-2",
        paid_on=today,
    )
    assert batch.payments.get().status == Payment.Status.PAID
    assert check_ledger(workspace=workspace).ok


@respx.mock
def test_validations_approve_decline_and_amend(workspace, shop):
    conn = shop["connection"]
    day = timezone.localdate() - timedelta(days=5)
    pending = [transaction(1, when=day), transaction(2, when=day), transaction(3, when=day, sale=100, commission=10)]
    listing(pending)
    assert run_sync(conn).created_count == 3

    validated = f"{timezone.localdate():%Y-%m-%d}T06:00:00"
    changes = [
        transaction(1, when=day, status="approved", validationDate=validated),
        transaction(2, when=day, status="declined", validationDate=validated, declineReason="Cancelled order"),
        transaction(
            3,
            when=day,
            status="approved",
            sale=80,
            commission=8,
            amended=True,
            oldSaleAmount={"amount": 100, "currency": "GBP"},
            oldCommissionAmount={"amount": 10, "currency": "GBP"},
            validationDate=validated,
        ),
    ]
    calls = []
    listing(changes, calls=calls)
    run = run_sync(conn, kind="updates")
    assert run.status == "succeeded", run.error
    assert calls[0].url.params["dateType"] == "validation"
    assert run.updated_count == 3
    rows = dict(Conversion.objects.values_list("external_id", "status"))
    assert rows == {"1": "approved", "2": "reversed", "3": "approved"}
    amended = Conversion.objects.get(external_id="3")
    assert (amended.sale_amount, amended.network_payout, amended.member_payout) == (D("80.00"), D("8.00"), D("8.00"))
    assert timezone.localdate(amended.locking_at) == timezone.localdate()
    # The same validations again: nothing changes twice.
    listing(changes)
    again = run_sync(conn, kind="updates")
    assert (again.updated_count, again.unchanged_count) == (0, 3)


@respx.mock
def test_a_429_waits_what_awin_asks(workspace, shop):
    conn = shop["connection"]
    listing(httpx.Response(429, json={"description": "Too many requests"}, headers={"Retry-After": "42"}))
    run = run_sync(conn)
    assert run.status == "waiting"
    assert 40 <= (run.retry_at - timezone.now()).total_seconds() <= 43


@respx.mock
def test_a_refused_token_breaks_the_connection(workspace, shop):
    conn = shop["connection"]
    listing(httpx.Response(401, content=awin_body("error_401.json")))
    run = run_sync(conn)
    assert run.status == "failed"
    conn.refresh_from_db()
    assert conn.status == "broken"


@respx.mock
def test_a_payment_seen_in_two_windows_counts_each_transaction_once(workspace, shop):
    conn = shop["connection"]
    day = timezone.localdate() - timedelta(days=3)
    paid = [
        transaction(11, when=day, status="approved", commission=2.5, paidToPublisher=True, paymentId=77),
        transaction(12, when=day, status="approved", commission=1.25, paidToPublisher=True, paymentId=77),
    ]
    listing(paid)
    run_sync(conn)
    listing(paid[:1])  # the next run's overlap brings one of them again
    run_sync(conn)
    payout = NetworkPayout.objects.get(connection=conn, reference="77")
    assert payout.amount == D("3.75")
