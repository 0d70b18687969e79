"""The stand-in servers and the clients agree (real HTTP in a thread, no mocks), with bounded memory."""

import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from networks import awin, shareasale
from tests.tools import awin_standin, shareasale_standin

END = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
START = END - timedelta(days=20)


def peak_bytes(read) -> tuple[int, int]:
    """(items read, peak traced memory in bytes) while ``read()`` runs."""
    tracemalloc.start()
    try:
        count = read()
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def sas_client(server, **kw):
    defaults = {
        "affiliate_id": shareasale_standin.AFFILIATE_ID,
        "api_token": shareasale_standin.TOKEN,
        "api_secret": shareasale_standin.SECRET,
        "base_url": server.url,
    }
    return shareasale.ShareASaleClient(**{**defaults, **kw})


@pytest.fixture(scope="module")
def sas_server():
    with shareasale_standin.StandinServer(rows=5000, start=START, end=END, credits=10_000) as server:
        yield server


@pytest.mark.parametrize("fmt", ["csv", "pipe", "xml"])
def test_it_reads_5000_shareasale_rows_with_memory_that_does_not_grow(sas_server, fmt):
    with sas_client(sas_server, fmt=fmt) as client:
        client.credits_left()  # warm up the connection
        first_day = shareasale.central_date(START)
        few, few_peak = peak_bytes(lambda: sum(1 for _ in client.activity(first_day, first_day + timedelta(days=4))))
        report = client.activity(first_day - timedelta(days=1))
        many, many_peak = peak_bytes(lambda: sum(1 for _ in report))
    assert 900 < few < 1400 and many == 5000
    assert many_peak < few_peak + 1_000_000 and many_peak < 4_000_000, (few_peak, many_peak)


def test_the_stand_in_checks_signatures_and_spends_credits():
    with shareasale_standin.StandinServer(rows=200, start=START, end=END, credits=2) as server:
        with sas_client(server, api_secret="not-the-secret") as wrong:
            with pytest.raises(shareasale.AuthError) as caught:
                wrong.credits_left()
        assert caught.value.code == "4075" and caught.value.ip == "127.0.0.1"
        with sas_client(server) as client:
            assert client.credits_left() == 1  # this call was one of the two
            assert len(list(client.activity(shareasale.central_date(START)))) == 200
            with pytest.raises(shareasale.RequestRefused) as caught:
                client.credits_left()
        assert caught.value.code == "9999"
        server.standin.credits = 5
        server.standin.inject.append((200, {}, "Invalid Request - Error Code 4002 - 127.0.0.1"))
        with sas_client(server) as client, pytest.raises(shareasale.AuthError, match="127.0.0.1"):
            client.credits_left()


def test_voids_edits_and_payments_from_the_stand_in_add_up():
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=120)
    with shareasale_standin.StandinServer(rows=1200, start=start, end=END, credits=100) as server:
        with sas_client(server) as client:
            since = shareasale.central_date(start) - timedelta(days=1)
            report = client.activity(since)
            records = list(report)
            voids = list(client.voids(since))
            edits = list(client.edits(since))
            ledger = list(client.ledger_payments(since))
            summaries = [client.payment_summary(p.date) for p in report.payments]
    voided = {r.external_id for r in records if r.status == "reversed"}
    assert voided == {v.external_id for v in voids} and len(voided) > 10
    assert edits and all(e.kind == "amount" and e.sale_amount < e.old_sale_amount for e in edits)
    assert report.payments and [p.amount for p in report.payments] == [p.amount for p in ledger]
    assert [s.amount for s in summaries] == [p.amount for p in report.payments]
    for payment in report.payments:
        paid = sum((r.payout for r in records if r.payment_ref == payment.date.isoformat()), Decimal("0.00"))
        assert paid == payment.amount


def test_it_reads_5000_awin_transactions_with_memory_that_does_not_grow():
    with awin_standin.StandinServer(transactions=5000, start=START, end=END) as server:
        with awin.AwinClient(
            token=awin_standin.TOKEN, publisher_id=awin_standin.PUBLISHER_ID, base_url=server.url
        ) as c:
            c.accounts()  # warm up the connection
            few, few_peak = peak_bytes(
                lambda: sum(1 for _ in c.iter_transactions(start=START, end=START + timedelta(days=4)))
            )
            many, many_peak = peak_bytes(
                lambda: sum(
                    1 for _ in c.iter_transactions(start=START - timedelta(days=1), end=END + timedelta(days=1))
                )
            )
            validated = list(c.iter_transactions(start=START, end=END + timedelta(days=25), date_type="validation"))
            looked_up = list(c.transactions_by_id([300000000, 300004999, 999]))
    assert 900 < few < 1100 and many == 5000
    assert many_peak < few_peak + 1_000_000 and many_peak < 4_000_000, (few_peak, many_peak)
    assert validated and all(r.locking_at and r.status in ("approved", "reversed") for r in validated)
    assert [r.external_id for r in looked_up] == ["300000000", "300004999"]


class MovingClock:
    """Our side's clock: sleeping moves it on (the stand-in keeps real time)."""

    def __init__(self):
        self.now = time.time()
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_awin_stand_in_answers_429_and_the_client_waits():
    clock = MovingClock()
    options = {"publisher_id": awin_standin.PUBLISHER_ID, "sleep": clock.sleep, "clock": clock}
    with awin_standin.StandinServer(transactions=10, start=START, end=END, rate_limit=2) as server:
        with awin.AwinClient(token=awin_standin.TOKEN, base_url=server.url, **options) as client:
            for _ in range(2):
                client.accounts()
            with pytest.raises(awin.RateLimited):
                client.accounts()  # the stand-in's minute stays full: it waits twice, then gives up
        assert len(clock.sleeps) == 2 and all(1 <= s <= 60 for s in clock.sleeps)
        clock.now += 61  # the last 429 held the token back for every worker until then
        server.standin.retry_after_header = False
        server.standin.inject.append((429, {}, '{"error": "Too Many Requests"}'))
        server.standin.rate_limit = 0
        clock.sleeps.clear()
        with awin.AwinClient(token=awin_standin.TOKEN, base_url=server.url, **options) as client:
            assert client.accounts()["accounts"]
        assert len(clock.sleeps) == 1 and 1 <= clock.sleeps[0] <= 60  # until the next minute
        with awin.AwinClient(token="wrong", publisher_id=awin_standin.PUBLISHER_ID, base_url=server.url) as client:
            with pytest.raises(awin.AuthError, match="invalid or has been revoked"):
                client.accounts()
        too_long = httpx.get(
            f"{server.url}/publishers/{awin_standin.PUBLISHER_ID}/transactions/",
            params={"startDate": "2025-01-01T00:00:00", "endDate": "2025-02-15T00:00:00", "timezone": "UTC"},
            headers={"Authorization": f"Bearer {awin_standin.TOKEN}"},
        )
        assert too_long.status_code == 400 and "31 days" in too_long.json()["description"]
