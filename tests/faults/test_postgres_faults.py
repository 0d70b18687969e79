"""PostgreSQL under load and restarted under load, with the app served as `make run` serves it.

After each: no 500, every postback stored exactly once once the network has retried its
503s and the spool is replayed, the outbox caught up and the ledger clean.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import pytest

from tests.faults.servers import manage, peak_connections, start_web, storm

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

QUERY = "subid1={tid}&action_id={action}&amount=20.00&payout=2.00&currency=USD&status=pending"


def test_1000_identical_postbacks_from_50_threads_are_one_conversion_and_no_500(hub):
    env = hub.env()
    world = hub.seed(env, clicks=1)
    web, url = start_web(env, hub.folder)
    try:
        with peak_connections(hub.postgres, hub.name) as peak:
            target = f"{url}/postback/impact/{world['secret']}?" + QUERY.format(tid="fault0", action="42.1")
            results = storm([target] * 1000, threads=50)
    finally:
        web.stop()
    statuses = [status for status, _, _ in results]
    answers = [body for _, body, _ in results]
    assert None not in statuses, "a request got no answer"
    assert set(statuses) <= {200, 503}, web.output()[-3000:]
    assert answers.count("accepted") == 1
    assert answers.count("accepted") + answers.count("duplicate") + statuses.count(503) == 1000
    # The development server runs a thread per request; the pool bounds what they hold.
    assert peak[0] <= 4
    manage(env, "replayspool")
    assert hub.value("SELECT count(*) FROM tracking_conversion") == 1
    assert hub.value("SELECT count(*) FROM tracking_conversionevent") == 1
    hub.check_ledger(env)


def test_postgresql_stopped_in_the_middle_of_a_postback_storm_loses_and_doubles_nothing(hub):
    env = hub.env(DB_POOL_TIMEOUT="2")
    count = 150
    world = hub.seed(env, clicks=count)
    web, url = start_web(env, hub.folder)
    base = f"{url}/postback/impact/{world['secret']}?"
    urls = [base + QUERY.format(tid=f"fault{i}", action=f"9.{i}") for i in range(count)]
    restarted = threading.Event()

    def start_again() -> None:
        # The server stays away longer than a request waits for a connection
        # (DB_POOL_TIMEOUT), so the hits sent meanwhile must be spooled.
        time.sleep(3)
        hub.postgres.start()

    down = threading.Event()
    outage: list[tuple[str, int]] = []

    def restart_at_a_third(answered: int) -> None:
        if answered == count // 3 and not restarted.is_set():
            restarted.set()
            # Every backend ends at once, as in a crash.
            hub.postgres.stop("immediate")
            # While it is certainly away, a network resends three of the storm's postbacks
            # (the storm sends them again later, so each must still be one conversion).
            for again in urls[-3:]:
                outage.append((again, httpx.get(again, timeout=30).status_code))
            down.set()
            restarter.start()
        elif answered > count // 3:
            # No storm thread sends again before the server is down, so the last two thirds
            # meet the outage however fast the first third went.
            down.wait(timeout=60)

    restarter = threading.Thread(target=start_again)
    try:
        results = storm(urls, threads=10, on_answered=restart_at_a_third)
        restarter.join()
        statuses = [status for status, _, _ in results]
        assert None not in statuses and set(statuses) <= {200, 503}, web.output()[-3000:]
        assert [status for _, status in outage] == [503, 503, 503]
        retry = [urls[i] for i, status in enumerate(statuses) if status == 503] + [u for u, _ in outage]
        spooled, logged = (
            hub.spooled(),
            hub.value("SELECT count(*) FROM tracking_postbacklog WHERE response_status = 503"),
        )
        assert spooled >= len(outage), (sorted(Counter(statuses).items()), logged, web.output()[-1500:])
        # Every 503 left a trace: its hit is in the spool (database away) or in the log.
        assert spooled + logged == len(retry)
        # The network retries what got a 503; the spool is replayed; nothing more is needed.
        again = storm(retry, threads=5)
        assert all(status == 200 for status, _, _ in again), again
    finally:
        web.stop()
    manage(env, "replayspool")
    assert hub.spooled() == 0
    rows = hub.sql("SELECT external_id, count(*) FROM tracking_conversion GROUP BY external_id")
    assert len(rows) == count and all(n == 1 for _, n in rows)
    assert hub.value("SELECT count(*) FROM tracking_conversionevent") == count
    hub.check_ledger(env)
