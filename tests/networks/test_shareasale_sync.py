"""ShareASale syncs: activity (sales, locks, payments) and voids and edits, through the conversion core."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import httpx
import pytest
import respx
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from networks import services
from networks.models import NetworkPayout, SyncRun, SyncState
from offers.models import Link, Member, NetworkConnection, Offer
from payments import lib
from payments import services as payments
from payments.models import AccountKind, Payment, Settlement
from payments.selectors import check_ledger
from tests.networks.saa import SHAREASALE_BASE, SHAREASALE_URL, in_chunks, make_shareasale_connection, shareasale_body
from tests.payments.helpers import balance, drain, payable
from tracking.models import Click, Conversion

pytestmark = pytest.mark.django_db
D = Decimal
HEADER = shareasale_body("activity.csv").split(b"\r\n")[0].decode()
TID = "hubclk5a1e77"


@pytest.fixture(autouse=True)
def _base(settings):
    settings.SHAREASALE_API_BASE_URL = SHAREASALE_BASE


@pytest.fixture
def shop(workspace):
    conn = make_shareasale_connection(workspace)
    member = Member.objects.create(workspace=workspace, name="Ava", paypal_email="ava@creators.test")
    offer = Offer.objects.create(
        workspace=workspace,
        name="Outdoor",
        offer_url="https://shareasale.com/r.cfm?b=1&u=1&m=2&afftrack={transaction_id}",
        connection=conn,
        payout_type="percent",
        payout_percent=D("10"),
    )
    link = Link.objects.create(workspace=workspace, offer=offer, member=member)
    Click.objects.create(workspace=workspace, transaction_id=TID, link=link, offer=offer, member=member)
    return {"connection": conn, "member": member}


def central(day: date, clock: str = "10:00:00 AM") -> str:
    return f"{day:%m/%d/%Y} {clock}"


def sale_row(trans_id, when: date, *, amount="100.00", commission="10.00", locked="", lock="", voided="", aff=TID):
    return (
        f"{trans_id},1234567,90001,{central(when)},{amount},{commission},Sale - 9001,{voided},,{locked},{aff},,,"
        f",,1300001,,,{lock},,Example Outdoor Co,example-outdoor.com/,Sale,,,"
    )


def payment_row(trans_id, when: date, amount="10.00"):
    return (
        f"{trans_id},1234567,47,{central(when, '02:15:00 AM')},0.00,-{amount},Payment - ACH Deposit Sent,,,,,,,,,,,,,,"
        "shareasale.com,www.shareasale.com,Affiliate Payment,,,"
    )


def csv_body(header: str, *rows: str) -> bytes:
    return (header + "\r\n" + "\r\n".join(rows) + " \r\n").encode()


def serve(action: str, body_or_response, calls=None):
    def respond(request):
        if calls is not None:
            calls.append(request)
        if isinstance(body_or_response, httpx.Response):
            return body_or_response
        return httpx.Response(200, content=iter(in_chunks(body_or_response, 512)))

    return respx.get(url__startswith=SHAREASALE_URL, params__contains={"action": action}).mock(side_effect=respond)


def serve_credits(left: int = 176):
    return serve("apitokencount", f"creditsRemaining\r\n{left} \r\n".encode())


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
    pay_day = lib.next_pay_date(today - timedelta(days=45), 20)  # a 20th between 45 and 15 days ago
    lock_day = (pay_day.replace(day=1) - timedelta(days=1)).replace(day=10)  # locked the month before
    sale_day = lock_day - timedelta(days=7)

    # 1. ShareASale's postback: no status, no locking date.
    query = {"afftrack": TID, "transID": "170000777", "amountOfSale": "100.00", "commission": "10.00"}
    assert client.get(f"/postback/shareasale/{conn.postback_secret}", query).content == b"accepted"
    conversion = Conversion.objects.get()
    assert (conversion.status, conversion.locking_at) == ("pending", None)

    # 2. The activity sync: the sale locked (its Lock Date), and the payment of the 20th.
    serve_credits()
    activity = csv_body(
        HEADER,
        sale_row("170000777", sale_day, locked="1", lock=lock_day.isoformat()),
        payment_row("170000999", pay_day),
    )
    serve("activity", activity)
    run = run_sync(conn, since=midnight(sale_day - timedelta(days=3)))
    assert run.status == "succeeded", run.error
    assert (run.created_count, run.updated_count) == (0, 1)
    conversion.refresh_from_db()
    assert conversion.status == "approved"
    assert timezone.localdate(conversion.locking_at) == lock_day
    payout = NetworkPayout.objects.get(connection=conn)
    assert (payout.paid_on, payout.amount, payout.reference) == (pay_day, D("10.00"), "170000999")
    conn.refresh_from_db()
    assert conn.api_credits_left == 176

    # 3. The settlement of that 20th covers it, and the network's payment is matched for finance.
    drain()
    assert payable(workspace, shop["member"]) == D("10.00")
    [settlement] = payments.refresh_expected_settlement(connection=conn, today=pay_day - timedelta(days=3))
    assert settlement.expected_on == pay_day and settlement.expected_amount == D("10.00")
    assert payments.match_network_payout(settlement=settlement) == payout

    # 4. Finance confirms the receipt as the page offers it, the balance is credited, the member paid.
    settlement = payments.mark_settlement_received(
        settlement=settlement, amount=payout.amount, received_on=payout.paid_on, reference=payout.reference
    )
    assert payments.credit_settlement(settlement=settlement)
    assert balance(workspace, AccountKind.AVAILABLE) == D("10.00")
    batch, created = payments.create_payment_run(
        workspace=workspace,
        idempotency_key="shareasale-sale-to-payment",
        rail="manual",
        currency="USD",
        member_ids=[shop["member"].pk],
        reference="BANK-1",
        paid_on=today,
        actor="finance@brand.test",
    )
    assert created and [p.amount for p in batch.payments.all()] == [D("10.00")]
    assert batch.payments.get().status == Payment.Status.PAID
    assert payable(workspace, shop["member"]) == D("0.00")
    assert Settlement.objects.get().status == "credited"
    assert check_ledger(workspace=workspace).ok


@respx.mock
def test_voids_and_edits_reach_the_conversion_and_the_ledger_once(workspace, shop):
    conn = shop["connection"]
    day = timezone.localdate() - timedelta(days=20)
    serve_credits()
    serve("activity", csv_body(HEADER, sale_row("170000101", day, locked="1", lock=day.isoformat())))
    run_sync(conn)
    drain()
    assert payable(workspace, shop["member"]) == D("10.00")

    edits = (
        "TransID,EditDate,OriginalTransAmount,OriginalCommission,NewTransAmount,NewCommission,AffComment\r\n"
        f'170000101,{day:%Y-%m-%d} 10:05:00.0,100.00,10.00,"80.00",$8.00,{TID} \r\n'
    ).encode()
    voids = (
        "TransID,VoidDate,VoidReason,TransAmount,Commission,AffComment\r\n"
        f"170000555,{day:%Y-%m-%d} 13:17:09.207,Returned Merchandise,10.0,1.0,{TID} \r\n"
    ).encode()
    serve("voidTrail", voids)
    serve("edittrail", edits)
    first = run_sync(conn, kind="updates")
    assert first.status == "succeeded", first.error
    assert first.updated_count == 1
    assert "not synced yet" in first.note  # the void names a transaction the activity sync has not brought
    conversion = Conversion.objects.get(external_id="170000101")
    assert (conversion.sale_amount, conversion.network_payout, conversion.member_payout) == (
        D("80.00"),
        D("8.00"),
        D("8.00"),
    )
    drain()
    assert payable(workspace, shop["member"]) == D("8.00")
    # The same trails again change nothing.
    again = run_sync(conn, kind="updates")
    assert (again.updated_count, again.unchanged_count) == (0, 1)

    # A void of the sale: reversed, and the ledger takes the payable back.
    serve(
        "voidTrail",
        (
            "TransID,VoidDate,VoidReason,TransAmount,Commission,AffComment\r\n"
            f"170000101,{day:%Y-%m-%d} 13:17:09.207,Returned Merchandise,80.0,8.0,{TID} \r\n"
        ).encode(),
    )
    third = run_sync(conn, kind="updates")
    assert third.updated_count == 1
    conversion.refresh_from_db()
    assert conversion.status == "reversed"
    drain()
    assert payable(workspace, shop["member"]) == D("0.00")
    assert check_ledger(workspace=workspace).ok


@respx.mock
def test_an_error_body_fails_the_run_with_its_code_and_a_plain_reason(workspace, shop):
    conn = shop["connection"]
    serve_credits()
    serve("activity", b"Invalid Request - Error Code 4031 - 203.0.113.9")
    run = run_sync(conn)
    assert run.status == "failed"
    assert "error code 4031" in run.error
    conn.refresh_from_db()
    assert conn.status == "active"


@respx.mock
def test_refused_credentials_break_the_connection(workspace, shop):
    conn = shop["connection"]
    respx.get(url__startswith=SHAREASALE_URL).respond(200, content=shareasale_body("error_4075.txt"))
    run = run_sync(conn)
    assert run.status == "failed"
    conn.refresh_from_db()
    assert conn.status == "broken"
    with pytest.raises(Exception, match="broken"):
        services.request_sync(connection=conn, kind="actions", trigger="manual")


@respx.mock
def test_a_spent_daily_credit_share_waits_until_tomorrow_without_calling(workspace, shop, settings):
    settings.SHAREASALE_DAILY_CREDIT_SHARE = 0.01  # 1 % of 176 credits: one request a day
    conn = shop["connection"]
    serve_credits()
    calls = []
    route = serve("activity", csv_body(HEADER), calls)
    first = run_sync(conn)
    assert first.status == "waiting"
    assert "waits until tomorrow" in first.note
    assert 0 < (first.retry_at - timezone.now()).total_seconds() <= 86400 + 60
    assert not route.called  # refused before calling: no credit spent on a request that cannot be paid for
    # Waiting means waiting: running it again now does nothing.
    services.execute_sync_run(run=first)
    assert not route.called


@respx.mock
def test_the_activity_cursor_overlaps_two_days(workspace, shop):
    conn = shop["connection"]
    serve_credits()
    calls = []
    serve("activity", csv_body(HEADER), calls)
    first = run_sync(conn)
    second = run_sync(conn)
    state = SyncState.objects.get(connection=conn, kind="actions")
    assert second.window_start == first.window_end - timedelta(days=2)
    assert state.cursor_at == second.window_end
    assert calls[-1].url.params["dateStart"] == f"{second.window_start.astimezone(lib_central()):%m/%d/%Y}"


def lib_central():
    from networks.shareasale import CENTRAL

    return CENTRAL


def test_sync_now_and_the_list_speak_shareasales_words(alice_client, shop):
    conn = shop["connection"]
    page = alice_client.get(reverse("networks:list")).content.decode()
    assert "Activity" in page and "Voids and edits" in page
    response = alice_client.get(reverse("networks:sync_now", args=[conn.code, "actions"]))
    assert response.status_code == 200 and "Activity sync of ShareASale" in response.content.decode()
    response = alice_client.get(reverse("networks:sync_now", args=[conn.code, "clicks"]))
    assert response.status_code == 302  # ShareASale has no click export


def test_a_shareasale_connection_without_api_credentials_takes_postbacks_only(workspace, alice_client):
    conn = NetworkConnection.objects.create(workspace=workspace, kind="shareasale", label="Postbacks only")
    with pytest.raises(Exception, match="affiliate id, API token and API secret"):
        services.request_sync(connection=conn, kind="actions", trigger="manual")


@respx.mock
def test_the_command_syncs_one_network(workspace, shop):
    serve_credits()
    serve("activity", csv_body(HEADER, sale_row("170000101", timezone.localdate() - timedelta(days=3))))
    serve("voidTrail", b"TransID,VoidDate,VoidReason,TransAmount,Commission,AffComment\r\n")
    serve(
        "edittrail",
        b"TransID,EditDate,OriginalTransAmount,OriginalCommission,NewTransAmount,NewCommission,AffComment\r\n",
    )
    out = StringIO()
    call_command("syncnetwork", "--workspace", workspace.slug, "--network", "shareasale", stdout=out)
    text = out.getvalue()
    assert "ShareASale: activity succeeded - 1 created" in text
    assert "ShareASale: voids and edits succeeded" in text
    with pytest.raises(CommandError, match="no connection with API credentials"):
        call_command("syncnetwork", "--workspace", workspace.slug, "--network", "awin", stdout=StringIO())


def test_the_settlement_page_offers_what_the_network_paid(alice_client, workspace, shop):
    from payments.models import Settlement as SettlementModel

    conn = shop["connection"]
    pay_day = lib.next_pay_date(timezone.localdate() - timedelta(days=45), 20)
    settlement = SettlementModel.objects.create(
        workspace=workspace,
        connection=conn,
        currency="USD",
        cut_off=midnight(pay_day.replace(day=1)),
        expected_on=pay_day,
        expected_amount=D("12.00"),
    )
    NetworkPayout.objects.create(
        workspace=workspace, connection=conn, paid_on=pay_day, amount=D("11.50"), currency="USD", reference="P-42"
    )
    page = alice_client.get(reverse("payments:settlement", args=[settlement.code])).content.decode()
    assert f"Paid by the network on {pay_day:%Y-%m-%d}" in page and "below the expected amount" in page
    assert 'value="11.50"' in page and 'value="P-42"' in page
    detail = alice_client.get(reverse("networks:detail", args=[conn.code])).content.decode()
    assert "P-42" in detail and f"{pay_day:%Y-%m-%d}" in detail
