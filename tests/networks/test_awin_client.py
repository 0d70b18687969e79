"""The Awin Publisher API client against responses shaped like the documented ones (respx)."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import respx

from networks import awin
from networks.awin import AwinClient, MinuteLimiter
from tests.networks.saa import AWIN_BASE, AWIN_TOKEN, PUBLISHER_ID, awin_body, in_chunks, transactions_url

START = datetime(2025, 2, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _base(settings):
    settings.AWIN_API_BASE_URL = AWIN_BASE


class Clock:
    """A clock that sleeping moves forward."""

    def __init__(self, now: float):
        self.now = now
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return Clock(datetime(2025, 3, 10, 12, 0, 45, tzinfo=UTC).timestamp())


@pytest.fixture
def client(clock):
    with AwinClient(token=AWIN_TOKEN, publisher_id=PUBLISHER_ID, sleep=clock.sleep, clock=clock) as c:
        yield c


def listing(*answers):
    """Each transactions request gets the next answer: bytes (200, streamed in small chunks) or a Response."""
    calls = []

    def respond(request):
        calls.append(request)
        answer = answers[min(len(calls), len(answers)) - 1]
        if isinstance(answer, bytes):
            return httpx.Response(
                200, content=iter(in_chunks(answer, 13)), headers={"Content-Type": "application/json"}
            )
        return answer

    route = respx.get(url__startswith=transactions_url()).mock(side_effect=respond)
    route.requests = calls
    return route


def test_it_splits_a_range_into_windows_of_at_most_31_days():
    windows = list(awin.split_windows(START, START + timedelta(days=75)))
    assert [(b - a).days for a, b in windows] == [31, 31, 13]
    assert all(windows[i][1] == windows[i + 1][0] for i in range(len(windows) - 1))
    assert awin.window_params(*windows[0]) == {
        "startDate": "2025-02-01T00:00:00",
        "endDate": "2025-03-03T23:59:59",  # inclusive: the last second before the next window
        "timezone": "UTC",
    }
    with pytest.raises(awin.WindowError):
        list(awin.split_windows(START, START + timedelta(days=40), size=timedelta(days=32)))
    with pytest.raises(awin.WindowError):
        list(awin.split_windows(START, START))


@respx.mock
def test_it_reads_transactions_into_records(client):
    route = listing(awin_body("transactions.json"))
    records = list(client.iter_transactions(start=START, end=START + timedelta(days=30)))
    pending, amended, declined, deleted = records
    assert [r.status for r in records] == ["pending", "approved", "reversed", "reversed"]
    assert pending.external_id == "259630312"
    assert pending.click_id == "3f9c2a7be1d04c58a6b0d2e4f7a81c93" and pending.member_ref == "m1a2b3c4d5e"
    assert amended.click_id == "0a1b2c3d4e5f60718293a4b5c6d7e8f9"  # clickRef when there is no clickRef2
    assert deleted.click_id == ""
    assert (pending.sale_amount, pending.payout, pending.currency) == (Decimal("55.96"), Decimal("5.59"), "GBP")
    assert pending.event_at == datetime(2025, 3, 9, 8, 11, tzinfo=UTC) and pending.locking_at is None
    assert (pending.order_ref, pending.promo_code, pending.paid, pending.payment_ref) == (
        "ORD-20250309-118",
        "SPRING10",
        False,
        "",
    )
    assert amended.amended and (amended.old_sale_amount, amended.old_payout) == (Decimal("154.99"), Decimal("15.50"))
    assert (amended.sale_amount, amended.payout) == (Decimal("124.00"), Decimal("12.40"))
    assert amended.locking_at == datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    assert amended.paid and amended.payment_ref == "8812345"
    assert declined.raw["declineReason"] == "Order cancelled"
    params = dict(route.requests[0].url.params)
    assert params == {
        "startDate": "2025-02-01T00:00:00",
        "endDate": "2025-03-02T23:59:59",
        "timezone": "UTC",
        "dateType": "transaction",
    }
    assert route.requests[0].headers["Authorization"] == f"Bearer {AWIN_TOKEN}"


@respx.mock
def test_a_long_range_is_read_window_by_window_and_by_validation_date(client):
    route = listing(b"[]")
    assert list(client.iter_transactions(start=START, end=START + timedelta(days=62), date_type="validation")) == []
    assert route.call_count == 2
    assert {r.url.params["dateType"] for r in route.requests} == {"validation"}
    with pytest.raises(ValueError):
        list(client.iter_transactions(start=START, end=START + timedelta(days=1), date_type="amendment_date"))


@respx.mock
def test_json_numbers_become_exact_decimals(client):
    body = json.loads(awin_body("transactions.json"))[:1]
    text = json.dumps(body).replace('"amount": 5.59', '"amount": 206.91999999999996')
    listing(text.encode())
    (record,) = list(client.iter_transactions(start=START, end=START + timedelta(days=1)))
    assert record.payout == Decimal("206.92")
    assert isinstance(record.raw["saleAmount"]["amount"], Decimal)


@respx.mock
def test_it_looks_transactions_up_by_id_in_batches(client):
    route = listing(b"[]")
    assert list(client.transactions_by_id(range(1, 121))) == []
    assert route.call_count == 3
    assert route.requests[0].url.params["ids"] == ",".join(str(i) for i in range(1, 51))
    assert route.requests[2].url.params["timezone"] == "UTC"


@respx.mock
def test_malformed_bodies_are_refused_clearly(client):
    listing(b'{"error": "Bad Request", "description": "The date range is too long"}')
    with pytest.raises(awin.MalformedBody, match="message instead of transactions: The date range is too long"):
        list(client.iter_transactions(start=START, end=START + timedelta(days=1)))
    respx.clear()
    listing(awin_body("transactions.json")[:-40])
    with pytest.raises(awin.MalformedBody, match="cut off"):
        list(client.iter_transactions(start=START, end=START + timedelta(days=1)))
    respx.clear()
    listing(b"[] trailing")
    with pytest.raises(awin.MalformedBody, match="text after the list"):
        list(client.iter_transactions(start=START, end=START + timedelta(days=1)))


@respx.mock
def test_an_unreadable_transaction_is_counted_and_the_rest_are_kept(client):
    body = json.loads(awin_body("transactions.json"))
    body[0]["commissionStatus"] = "bonus"
    listing(json.dumps(body).encode())
    records = list(client.iter_transactions(start=START, end=START + timedelta(days=1)))
    assert [r.external_id for r in records] == ["259630401", "259630555", "259630777"]
    assert client.rejected == 1 and "unknown commissionStatus 'bonus'" in client.problems[0]


@respx.mock
def test_401_and_403_are_typed_errors_with_awins_description(client):
    listing(httpx.Response(401, content=awin_body("error_401.json")))
    with pytest.raises(awin.AuthError, match="refused this API token \\(401\\): The access token is invalid"):
        list(client.iter_transactions(start=START, end=START + timedelta(days=1)))
    respx.clear()
    route = listing(httpx.Response(403, json={"error": "Forbidden"}))
    with pytest.raises(awin.ScopeError, match="viewer rights on publisher account 45628"):
        list(client.iter_transactions(start=START, end=START + timedelta(days=1)))
    assert route.call_count == 1
    respx.clear()
    listing(httpx.Response(400, json={"description": "startDate is mandatory"}))
    with pytest.raises(awin.RequestRejected, match="startDate is mandatory"):
        list(client.iter_transactions(start=START, end=START + timedelta(days=1)))


@respx.mock
def test_a_429_waits_retry_after_then_tries_again(client, clock):
    route = listing(httpx.Response(429, headers={"Retry-After": "7"}), b"[]")
    assert list(client.iter_transactions(start=START, end=START + timedelta(days=1))) == []
    assert route.call_count == 2 and clock.sleeps == [7]


@respx.mock
def test_a_429_without_retry_after_waits_until_the_next_minute(client, clock):
    route = listing(httpx.Response(429), b"[]")
    list(client.iter_transactions(start=START, end=START + timedelta(days=1)))
    assert route.call_count == 2 and clock.sleeps == [15]  # the clock reads hh:mm:45


@respx.mock
def test_a_long_retry_after_or_repeated_429s_raise_rate_limited(client, clock):
    route = listing(httpx.Response(429, headers={"Retry-After": "300"}))
    with pytest.raises(awin.RateLimited) as caught:
        list(client.iter_transactions(start=START, end=START + timedelta(days=1)))
    assert caught.value.retry_after == 300 and route.call_count == 1 and clock.sleeps == []
    # The 429 blocks the token for every worker until then.
    assert MinuteLimiter(AWIN_TOKEN, clock=clock).try_acquire() == pytest.approx(300)
    clock.now += 301
    respx.clear()
    route = listing(httpx.Response(429, headers={"Retry-After": "2"}))
    with pytest.raises(awin.RateLimited):
        list(client.iter_transactions(start=START, end=START + timedelta(days=1)))
    assert route.call_count == 3  # bounded: the first try and two retries


@respx.mock
def test_server_errors_are_retried_a_bounded_number_of_times(client, clock):
    route = listing(httpx.Response(500))
    with pytest.raises(awin.ServerError, match="answered 500"):
        list(client.iter_transactions(start=START, end=START + timedelta(days=1)))
    assert route.call_count == 3 and len(clock.sleeps) == 2 and all(0 < s <= 20 for s in clock.sleeps)
    respx.clear()
    listing(httpx.Response(502), b"[]")
    assert list(client.iter_transactions(start=START, end=START + timedelta(days=1))) == []


def test_the_limiter_allows_20_requests_in_any_minute_across_workers(clock):
    first, second = MinuteLimiter(AWIN_TOKEN, clock=clock), MinuteLimiter(AWIN_TOKEN, clock=clock)
    for n in range(20):
        assert (first if n % 2 else second).try_acquire() == 0
    wait = first.try_acquire()
    assert 60 <= wait <= 65 and second.try_acquire() > 0
    assert MinuteLimiter("another user's token", clock=clock).try_acquire() == 0
    clock.now += wait
    assert first.try_acquire() == 0


@respx.mock
def test_the_client_waits_for_a_free_slot_or_says_how_long(clock):
    listing(b"[]")
    limiter = MinuteLimiter(AWIN_TOKEN, clock=clock)
    for _ in range(20):
        limiter.try_acquire()
    with AwinClient(token=AWIN_TOKEN, publisher_id=PUBLISHER_ID, sleep=clock.sleep, clock=clock, max_wait=10) as c:
        with pytest.raises(awin.RateLimited) as caught:
            list(c.iter_transactions(start=START, end=START + timedelta(days=1)))
    assert caught.value.retry_after > 10 and clock.sleeps == []
    with AwinClient(token=AWIN_TOKEN, publisher_id=PUBLISHER_ID, sleep=clock.sleep, clock=clock) as c:
        assert list(c.iter_transactions(start=START, end=START + timedelta(days=1))) == []
    assert len(clock.sleeps) == 1 and 60 <= clock.sleeps[0] <= 65


@respx.mock
def test_the_credential_check_finds_the_publisher_among_the_accounts():
    route = respx.get(f"{AWIN_BASE}/accounts").respond(200, content=awin_body("accounts.json"))
    account = awin.check_credentials(publisher_id="45628", token=AWIN_TOKEN)
    assert account["accountName"] == "Alice Brand Creators"
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {AWIN_TOKEN}"
    with pytest.raises(awin.AccountNotFound) as caught:
        awin.check_credentials(publisher_id="99999", token=AWIN_TOKEN)
    assert "45628 (Alice Brand Creators), 51277 (Alice Brand Blog)." in caught.value.message
    assert "7052" not in caught.value.message  # an advertiser account is not offered
    respx.get(f"{AWIN_BASE}/accounts").respond(200, json={"userId": 1})
    with pytest.raises(awin.MalformedBody):
        awin.check_credentials(publisher_id="45628", token=AWIN_TOKEN)
