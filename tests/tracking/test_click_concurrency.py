"""Many visitors at once: no click lost, no transaction id given twice (real threads on PostgreSQL)."""

import threading

import pytest
from django.db import connection

from tests.clients import SiteClient
from tests.tracking.test_redirect import BROWSER_UA, make_link
from tracking.clicks import buffer
from tracking.models import Click

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
CLICKS_PER_THREAD = 15


def hammer(code: str) -> list[str]:
    """Fire clicks from several threads at once; return every Location answered."""
    locations: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)
    lock = threading.Lock()

    def visitor(n: int):
        browser = SiteClient()
        try:
            start.wait()
            for _ in range(CLICKS_PER_THREAD):
                response = browser.get(f"/c/{code}", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=f"198.51.100.{n}")
                assert response.status_code == 302, response.status_code
                with lock:
                    locations.append(response["Location"])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return locations


def transaction_ids(locations):
    return [loc.split("tid=")[1].split("&")[0] for loc in locations]


def test_concurrent_direct_clicks_are_all_stored_once(settings, workspace):
    settings.CLICK_BUFFER = "direct"
    link = make_link(workspace)
    answered = transaction_ids(hammer(link.code))
    total = THREADS * CLICKS_PER_THREAD
    assert len(answered) == len(set(answered)) == total
    assert set(Click.objects.values_list("transaction_id", flat=True)) == set(answered)
    # One unique click per visitor (each thread is one IP), whatever the interleaving.
    assert Click.objects.filter(is_unique=True).count() == THREADS


@pytest.mark.redis
def test_concurrent_buffered_clicks_are_all_drained_once(settings, workspace):
    settings.CLICK_BUFFER = "redis"
    link = make_link(workspace)
    answered = transaction_ids(hammer(link.code))
    total = THREADS * CLICKS_PER_THREAD
    assert len(set(answered)) == total

    # Two drains racing each other still insert every click exactly once.
    drained = []
    racers = [
        threading.Thread(target=lambda: (drained.append(buffer.drain_click_buffer(batch_size=10)), connection.close()))
        for _ in range(2)
    ]
    for t in racers:
        t.start()
    for t in racers:
        t.join(timeout=60)
    assert sum(drained) == total
    assert Click.objects.count() == total
    assert set(Click.objects.values_list("transaction_id", flat=True)) == set(answered)
    assert Click.objects.filter(is_unique=True).count() == THREADS
