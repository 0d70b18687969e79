"""The ShareASale affiliate API client against responses shaped like the samples (respx)."""

import hashlib
import logging
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
import respx

from networks import shareasale
from networks.records import NetworkChange, NetworkPayment, NetworkRecord
from networks.shareasale import CreditBudget, ShareASaleClient
from tests.networks.saa import (
    AFFILIATE_ID,
    API_SECRET,
    API_TOKEN,
    SHAREASALE_BASE,
    SHAREASALE_URL,
    in_chunks,
    shareasale_body,
)

ACTIVITY_HEADER = shareasale_body("activity.csv").split(b"\r\n")[0]


@pytest.fixture(autouse=True)
def _base(settings):
    settings.SHAREASALE_API_BASE_URL = SHAREASALE_BASE


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    with ShareASaleClient(
        affiliate_id=AFFILIATE_ID, api_token=API_TOKEN, api_secret=API_SECRET, sleep=sleeps.append
    ) as c:
        yield c


def serve(action: str, *answers):
    """Each call to ``action`` gets the next answer: bytes (200, streamed in small chunks) or a Response."""
    calls = []

    def respond(request):
        calls.append(request)
        answer = answers[min(len(calls), len(answers)) - 1]
        if isinstance(answer, bytes):
            return httpx.Response(200, content=iter(in_chunks(answer)), headers={"Content-Type": "text/plain"})
        return answer

    route = respx.get(url__startswith=SHAREASALE_URL, params__contains={"action": action}).mock(side_effect=respond)
    route.requests = calls
    return route


def activity_rows(*lines: str) -> bytes:
    return ACTIVITY_HEADER + b"\r\n" + "\r\n".join(lines).encode() + b" \r\n"


def sale(trans_id: str, when: str, **changes) -> str:
    fields = {
        "id": trans_id,
        "when": when,
        "voided": "",
        "locked": "",
        "lock": "2025-04-20",
        "paid": "",
        "aff": "hubclk000001",
        "amount": "10.00",
    }
    fields.update(changes)
    return (
        f"{fields['id']},1234567,90001,{fields['when']},{fields['amount']},1.0,Sale - 1,{fields['voided']},,"
        f"{fields['locked']},{fields['aff']},,,2025-03-01 00:00:00.0,09:00:00 AM,1300001,,,{fields['lock']},"
        f"{fields['paid']},Example Outdoor Co,example-outdoor.com/,Sale,,,"
    )


# Signing ---------------------------------------------------------------------------------------


def test_the_signature_reproduces_shareasales_worked_example():
    assert (
        shareasale.signature(
            token="NGc6dg5e9URups5o",
            secret="ATj7vd8b7CCjeq9yQUo8cc2w3OThqe2e",
            action="bannerList",
            date_header="Thu, 14 Apr 2011 22:44:22 GMT",
        )
        == "78D54A3051AE0AAAF022AA2DA230B97D5219D82183FEFF71E2D53DEC6057D9F1"
    )
    assert shareasale.signature(
        token=API_TOKEN, secret=API_SECRET, action="activity", date_header="Mon, 06 Jan 2025 15:04:05 GMT"
    ) == ("A5061CA9049FEACDE7A65298DDA25EAD38CDF4CB2A78B1CEAB3164D1C5D8DCED")
    assert shareasale.date_header(1736175845) == "Mon, 06 Jan 2025 15:04:05 GMT"


@respx.mock
def test_it_signs_each_request_and_sends_the_documented_parameters(client):
    route = serve("activity", shareasale_body("activity.csv"))
    list(client.activity(date(2025, 1, 1), date(2025, 1, 31)))
    request = route.requests[0]
    params = dict(request.url.params)
    assert params == {
        "affiliateId": AFFILIATE_ID,
        "token": API_TOKEN,
        "version": "2.3",
        "action": "activity",
        "format": "csv",
        "dateStart": "01/01/2025",
        "dateEnd": "01/31/2025",
    }
    stamp = request.headers["x-ShareASale-Date"]
    assert stamp.endswith(" GMT") and datetime.strptime(stamp, "%a, %d %b %Y %H:%M:%S GMT")
    expected = hashlib.sha256(f"{API_TOKEN}:{stamp}:activity:{API_SECRET}".encode()).hexdigest().upper()
    assert request.headers["x-ShareASale-Authentication"] == expected


# Formats ---------------------------------------------------------------------------------------


@respx.mock
def test_it_reads_the_csv_activity_report(client):
    serve("activity", shareasale_body("activity.csv"))
    report = client.activity(date(2025, 1, 1))
    records = list(report)
    assert [r.external_id for r in records] == ["170000101", "170000102", "170000103", "170000104"]
    locked, voided, apparel, lead = records
    assert (locked.status, voided.status, apparel.status, lead.status) == (
        "approved",
        "reversed",
        "approved",
        "pending",
    )
    assert locked.click_id == "hubclk7f3a9c" and apparel.click_id == "" and lead.click_id == "hubclk0b77e1"
    assert locked.sale_amount == Decimal("138.00") and locked.payout == Decimal("13.80") and locked.currency == "USD"
    # 12:41:28 PM US Central in January (CST, UTC-6).
    assert locked.event_at == datetime(2025, 1, 3, 18, 41, 28, tzinfo=UTC)
    assert locked.locking_at == datetime(2025, 4, 20, 5, 0, tzinfo=UTC)
    assert locked.paid and locked.payment_ref == "2025-04-20" and not voided.paid
    assert (locked.order_ref, voided.order_ref, apparel.order_ref, lead.order_ref) == (
        "15139",
        "16148",
        "uk6176278",
        "49",
    )
    assert apparel.raw["merchantorganization"] == "Sample Apparel, Inc"  # quoted comma
    assert lead.sale_amount == Decimal("0.00") and lead.payout == Decimal("2.50")
    assert report.rejected == 0


@respx.mock
def test_affiliate_payment_rows_are_kept_apart_as_payments(client):
    serve("activity", shareasale_body("activity.csv"))
    report = client.activity(date(2025, 1, 1))
    assert all(isinstance(r, NetworkRecord) for r in report)
    assert report.payments == [
        NetworkPayment(date=date(2025, 2, 20), amount=Decimal("206.92"), currency="USD", reference="170000105")
    ]
    assert report.payments[0].raw["transtype"] == "Affiliate Payment"


@respx.mock
def test_the_space_before_the_last_crlf_is_dropped(client):
    serve("activity", shareasale_body("activity.csv"))
    report = client.activity(date(2025, 1, 1))
    list(report)
    assert report.payments[0].raw["referencetrans"] == ""
    serve("apitokencount", shareasale_body("apitokencount.csv"))
    assert client.credits_left() == 176


@respx.mock
def test_pipe_and_xml_give_the_same_records_as_csv(sleeps):
    serve("activity", shareasale_body("activity.csv"))
    with ShareASaleClient(affiliate_id=AFFILIATE_ID, api_token=API_TOKEN, api_secret=API_SECRET) as csv_client:
        from_csv = list(csv_client.activity(date(2025, 1, 1)))
    respx.clear()
    route = serve("activity", shareasale_body("activity_pipe.txt"))
    with ShareASaleClient(affiliate_id=AFFILIATE_ID, api_token=API_TOKEN, api_secret=API_SECRET, fmt="pipe") as c:
        report = c.activity(date(2025, 1, 1))
        from_pipe = list(report)
    assert from_pipe == from_csv and len(report.payments) == 1
    assert route.requests[0].url.params["format"] == "pipe"
    respx.clear()
    route = serve("activity", shareasale_body("activity.xml"))
    with ShareASaleClient(affiliate_id=AFFILIATE_ID, api_token=API_TOKEN, api_secret=API_SECRET, fmt="xml") as c:
        from_xml = list(c.activity(date(2025, 1, 1)))
    assert from_xml == from_csv[:2]
    assert from_xml[0].raw["merchantorganization"] == "Example Outdoor Co"
    assert route.requests[0].url.params["format"] == "xml" and route.requests[0].url.params["XMLFormat"] == "1"


@respx.mock
def test_it_reads_the_v1_3_xml_field_set_and_finds_payments_by_merchant_47(client):
    record = (
        "<activitydetailsreportrecord><transid>{id}</transid><userid>1234567</userid><merchantid>{m}</merchantid>"
        "<transdate>01/03/2025 12:41:28 PM</transdate><transamount>{amount}</transamount>"
        "<commission>{commission}</commission><comment>x</comment><voided></voided><pendingdate></pendingdate>"
        "<locked>1</locked><affcomment>hubclk7f3a9c</affcomment><bannerpage></bannerpage>"
        "<reversaldate></reversaldate><clickdate></clickdate><clicktime></clicktime><bannerid></bannerid>"
        "<skulist></skulist><quantitylist></quantitylist><lockdate>2025-02-02</lockdate><paiddate></paiddate>"
        "</activitydetailsreportrecord>"
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<activitydetailsreport>'
        + record.format(id="1", m="90001", amount="138", commission="13.8")
        + record.format(id="2", m="47", amount="0.00", commission="-13.80")
        + "</activitydetailsreport>"
    ).encode()
    serve("activity", body)
    report = client.activity(date(2025, 1, 1))
    records = list(report)
    assert [r.external_id for r in records] == ["1"] and records[0].status == "approved"
    assert [p.amount for p in report.payments] == [Decimal("13.80")]


@respx.mock
def test_html_entities_in_names_are_undone(client):
    serve("paymentSummary", shareasale_body("paymentsummary.csv"))
    payment = client.payment_summary(date(2025, 2, 20))
    assert [line["merchant"] for line in payment.raw["lines"]] == ["Example Outdoor Co", "wool&", "Sample Apparel, Inc"]
    assert payment.amount == Decimal("209.49") and payment.date == date(2025, 2, 20)


@respx.mock
def test_central_times_are_read_across_the_change_to_and_from_daylight_time(client):
    serve(
        "activity",
        activity_rows(
            sale("1", "03/08/2025 11:00:00 PM"),  # CST, UTC-6
            sale("2", "03/10/2025 11:00:00 PM"),  # CDT, UTC-5
            sale("3", "11/02/2025 01:30:00 AM"),  # happens twice: the first (daylight) one
            sale("4", "11/03/2025 01:30:00 AM"),
        ),
    )
    times = [r.event_at for r in client.activity(date(2025, 3, 1))]
    assert times == [
        datetime(2025, 3, 9, 5, 0, tzinfo=UTC),
        datetime(2025, 3, 11, 4, 0, tzinfo=UTC),
        datetime(2025, 11, 2, 6, 30, tzinfo=UTC),
        datetime(2025, 11, 3, 7, 30, tzinfo=UTC),
    ]


@respx.mock
def test_an_unreadable_row_is_counted_and_the_rest_are_kept(client):
    serve(
        "activity",
        activity_rows(sale("1", "03/08/2025 11:00:00 PM", amount="ten"), sale("2", "03/10/2025 11:00:00 PM")),
    )
    report = client.activity(date(2025, 3, 1))
    assert [r.external_id for r in report] == ["2"]
    assert report.rejected == 1 and "Trans Amount of 1 is not an amount" in report.problems[0]


@respx.mock
def test_voids_and_edits_become_changes(client):
    serve("voidTrail", shareasale_body("voidtrail.csv"))
    serve("edittrail", shareasale_body("edittrail_rows.csv"))
    (void,) = list(client.voids(date(2025, 2, 1)))
    assert void == NetworkChange(
        external_id="170000102",
        kind="reversal",
        changed_at=datetime(2025, 2, 13, 19, 17, 9, 207000, tzinfo=UTC),
        click_id="hubclk11aa02",
        old_sale_amount=Decimal("168.00"),
        old_payout=Decimal("16.80"),
        currency="USD",
        reason="Returned Merchandise",
    )
    (edit,) = list(client.edits(date(2025, 2, 1)))
    assert edit.kind == "amount" and edit.click_id == "hubclk5c01d2"
    assert (edit.sale_amount, edit.payout) == (Decimal("1057.32"), Decimal("105.73"))
    assert (edit.old_sale_amount, edit.old_payout) == (Decimal("157.32"), Decimal("23.60"))
    assert edit.changed_at == datetime(2025, 2, 3, 16, 5, tzinfo=UTC)


@respx.mock
def test_an_edit_trail_with_only_its_header_is_empty(client):
    serve("edittrail", shareasale_body("edittrail.csv"))  # "...,AffComment \r\n"
    assert list(client.edits(date(2025, 2, 1))) == []


@respx.mock
def test_ledger_payments_are_read_and_kept_to_the_asked_dates(client):
    serve("ledger", shareasale_body("ledger.csv"))
    payments = list(client.ledger_payments(date(2025, 2, 1), date(2025, 2, 28)))
    assert [(p.date, p.amount, p.reference) for p in payments] == [(date(2025, 2, 20), Decimal("206.92"), "170000105")]
    # A server that ignores the dates sends the same rows: nothing outside them comes back.
    assert list(client.ledger_payments(date(2025, 3, 1), date(2025, 3, 31))) == []


# Errors ----------------------------------------------------------------------------------------


@respx.mock
def test_an_error_body_with_http_200_is_a_typed_error_and_is_not_retried(client):
    route = serve("activity", shareasale_body("error_4075.txt"))
    with pytest.raises(shareasale.AuthError) as caught:
        list(client.activity(date(2025, 1, 1)))
    assert caught.value.code == "4075" and caught.value.ip == "203.0.113.10"
    assert "refused the API token and secret (error code 4075)" in caught.value.message
    assert route.call_count == 1


@respx.mock
def test_an_ip_refusal_names_the_address_to_allow(client):
    serve("apitokencount", b"Invalid Request - Error Code 4002 - 198.51.100.7")
    with pytest.raises(shareasale.AuthError) as caught:
        client.credits_left()
    assert caught.value.code == "4002" and "(198.51.100.7) is not among them" in caught.value.message


@respx.mock
def test_an_unknown_error_code_is_reported_by_number(client):
    serve("activity", b"Invalid Request - Error Code 4999 - 203.0.113.10")
    with pytest.raises(shareasale.RequestRefused) as caught:
        list(client.activity(date(2025, 1, 1)))
    assert not isinstance(caught.value, shareasale.AuthError)
    assert caught.value.message == "ShareASale refused the request (error code 4999)."


@respx.mock
def test_server_errors_are_retried_a_bounded_number_of_times(client, sleeps):
    route = serve("activity", httpx.Response(503))
    with pytest.raises(shareasale.ServerError, match="answered 503"):
        list(client.activity(date(2025, 1, 1)))
    assert route.call_count == 3 and len(sleeps) == 2 and all(0 < s <= 20 for s in sleeps)


@respx.mock
def test_a_server_error_then_an_answer_succeeds(client):
    serve("activity", httpx.Response(502), shareasale_body("activity.csv"))
    assert len(list(client.activity(date(2025, 1, 1)))) == 4


@respx.mock
def test_a_429_is_raised_with_retry_after_and_never_retried(client):
    route = serve("activity", httpx.Response(429, headers={"Retry-After": "120"}))
    with pytest.raises(shareasale.RateLimited) as caught:
        list(client.activity(date(2025, 1, 1)))
    assert caught.value.retry_after == 120 and route.call_count == 1
    respx.clear()
    serve("activity", httpx.Response(429))
    with pytest.raises(shareasale.RateLimited) as caught:
        list(client.activity(date(2025, 1, 1)))
    assert caught.value.retry_after == 60


@respx.mock
def test_malformed_bodies_are_refused_clearly(client):
    serve("activity", ACTIVITY_HEADER + b"\r\n170000101,1234567,90001\r\n")
    with pytest.raises(shareasale.MalformedBody, match="row 2 has 3 columns; the header has 26"):
        list(client.activity(date(2025, 1, 1)))
    respx.clear()
    serve("activity", b"<activitydetailsreport><activitydetailsreportrecord><transid>1</trans")
    with pytest.raises(shareasale.MalformedBody, match="XML that cannot be read"):
        list(client.activity(date(2025, 1, 1)))
    respx.clear()
    serve("apitokencount", b"creditsRemaining\r\nlots \r\n")
    with pytest.raises(shareasale.MalformedBody, match="creditsRemaining"):
        client.credits_left()


@respx.mock
def test_the_token_and_secret_never_reach_a_log_or_an_error(client, caplog):
    caplog.set_level(logging.DEBUG)
    serve("activity", shareasale_body("error_4075.txt"))
    with pytest.raises(shareasale.AuthError) as caught:
        list(client.activity(date(2025, 1, 1)))
    assert "HTTP Request: GET" in caplog.text and "token=[hidden]" in caplog.text
    for secret in (API_TOKEN, API_SECRET):
        assert secret not in caplog.text and secret not in str(caught.value)


# Credit budget ---------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self):
        return self.now


@respx.mock
def test_a_day_spends_at_most_its_share_of_the_credits_then_refuses_before_calling():
    clock = Clock(datetime(2025, 3, 3, 15, 0, tzinfo=UTC).timestamp())
    count = serve("apitokencount", b"creditsRemaining\r\n15 \r\n")
    activity = serve("activity", shareasale_body("activity.csv"))
    budget = CreditBudget("conn-1", share=0.2, clock=clock)  # 15 credits x 0.2 = 3 a day
    kwargs = {"affiliate_id": AFFILIATE_ID, "api_token": API_TOKEN, "api_secret": API_SECRET, "clock": clock}
    with ShareASaleClient(budget=budget, **kwargs) as client:
        list(client.activity(date(2025, 3, 1)))  # the day's count call, then the report
        assert count.call_count == 1 and budget.allowance() == 3 and budget.used() == 2
        list(client.activity(date(2025, 3, 1)))
        with pytest.raises(shareasale.CreditBudgetSpent) as caught:
            list(client.activity(date(2025, 3, 1)))
    assert activity.call_count == 2  # refused before calling
    assert caught.value.retry_after == 9 * 3600 + 1  # until midnight UTC
    assert "Today's share of ShareASale API credits (3) is spent" in caught.value.message
    # Another worker shares the count.
    with ShareASaleClient(budget=CreditBudget("conn-1", share=0.2, clock=clock), **kwargs) as other:
        with pytest.raises(shareasale.CreditBudgetSpent):
            list(other.activity(date(2025, 3, 1)))
    # The next day starts a new allowance from a fresh count.
    clock.now += 86400
    with ShareASaleClient(budget=CreditBudget("conn-1", share=0.2, clock=clock), **kwargs) as client:
        list(client.activity(date(2025, 3, 1)))
    assert count.call_count == 2 and activity.call_count == 3


@respx.mock
def test_a_refused_request_still_spends_its_credit_and_is_not_repeated():
    clock = Clock(datetime(2025, 3, 3, 15, 0, tzinfo=UTC).timestamp())
    serve("apitokencount", b"creditsRemaining\r\n100 \r\n")
    route = serve("activity", b"Invalid Request - Error Code 4999 - 203.0.113.10")
    budget = CreditBudget("conn-2", share=0.2, clock=clock)
    with ShareASaleClient(
        affiliate_id=AFFILIATE_ID, api_token=API_TOKEN, api_secret=API_SECRET, budget=budget, clock=clock
    ) as client:
        with pytest.raises(shareasale.RequestRefused):
            list(client.activity(date(2025, 3, 1)))
    assert route.call_count == 1 and budget.used() == 2 and budget.remaining() == 18


@respx.mock
def test_other_http_refusals_are_typed_and_not_retried(client):
    route = serve("activity", httpx.Response(403, text="<html>Access denied</html>"))
    with pytest.raises(shareasale.RequestRefused) as caught:
        list(client.activity(date(2025, 1, 1)))
    assert caught.value.status_code == 403 and route.call_count == 1
    assert "refused the activity request (403 Forbidden)" in caught.value.message
