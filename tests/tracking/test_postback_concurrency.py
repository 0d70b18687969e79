"""Networks retry: the same postback fired concurrently yields exactly one conversion (real threads, PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection as db_connection
from django.db.models import Count

from tests.clients import SiteClient
from tests.tracking.postback_world import make_world
from tracking.models import Conversion, ConversionEvent, PostbackLog

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 50
HITS = 1000


@pytest.fixture(autouse=True)
def _enough_database_connections():
    # Each thread holds its own connection; on a PostgreSQL shared with other test runs the
    # server may not have THREADS of them to spare, which says nothing about this code.
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int - (SELECT count(*) FROM pg_stat_activity)")
        free = cursor.fetchone()[0]
    if free < THREADS + 10:
        pytest.skip(f"PostgreSQL has only {free} free connections; this test needs {THREADS + 10}")


def fire(urls: list[str]) -> list[int]:
    """Send every URL from THREADS threads, each with its own Client and database connection."""
    local = threading.local()

    def one(url):
        if not hasattr(local, "client"):
            local.client = SiteClient()
        return local.client.get(url).status_code

    def worker(chunk):
        try:
            return [one(u) for u in chunk]
        finally:
            db_connection.close()

    chunks = [urls[i::THREADS] for i in range(THREADS)]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return [code for codes in pool.map(worker, chunks) for code in codes]


def test_the_same_postback_1000_times_from_50_threads_is_one_conversion(workspace):
    world = make_world(workspace)
    url = (
        f"/postback/impact/{world['connection'].postback_secret}"
        f"?subid1={world['click'].transaction_id}&action_id=1000.4636.158133&amount=21.99&payout=0.88&status=PENDING"
    )
    codes = fire([url] * HITS)
    assert len(codes) == HITS
    assert set(codes) == {200}
    assert Conversion.objects.count() == 1
    assert ConversionEvent.objects.count() == 1
    outcomes = dict(PostbackLog.objects.values_list("outcome").annotate(n=Count("id")))
    assert outcomes == {"accepted": 1, "duplicate": HITS - 1}


def test_one_transaction_id_text_in_two_workspaces_converts_in_each(workspace, other_workspace):
    worlds = [make_world(workspace), make_world(other_workspace)]
    urls = [
        f"/postback/impact/{w['connection'].postback_secret}?subid1=same-text-in-both&action_id=SAME-1&amount=5.00"
        for w in worlds
    ]
    codes = fire(urls * 100)
    assert set(codes) == {200}
    assert Conversion.objects.filter(workspace=workspace).count() == 1
    assert Conversion.objects.filter(workspace=other_workspace).count() == 1
