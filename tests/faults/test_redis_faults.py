"""Redis stopped under clicks, a drain worker killed mid-batch, the broker stopped while conversions change.

Redis here is a throwaway redis-server with the append-only file on (as docker-compose.yml
runs it), so a stop keeps what it acknowledged. After each fault: every click that got a
302 is stored exactly once, nothing waits in the buffer, the outbox catches up and the
ledger is clean.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import redis

from tests.conftest import wait_for
from tests.faults.servers import ROOT, django_json, start_web, start_worker, storm

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"}
DRAIN_ALL = """
import json
from tracking.clicks.buffer import drain_click_buffer
total = n = drain_click_buffer(claim_idle_ms=%(idle)d)
while n:
    n = drain_click_buffer(claim_idle_ms=%(idle)d)
    total += n
print(json.dumps(total))
"""


def transaction_id(location: str) -> str:
    return parse_qs(urlsplit(location).query)["subId1"][0]


def stored_clicks(hub) -> list[str]:
    return [
        row[0] for row in hub.sql("SELECT transaction_id FROM tracking_click WHERE transaction_id NOT LIKE 'fault%'")
    ]


def test_redis_stopped_in_the_middle_of_a_click_storm_keeps_every_redirected_click_once(hub, throwaway_redis):
    env = hub.env(throwaway_redis.url())
    world = hub.seed(env)
    web, url = start_web(env, hub.folder)
    count = 200
    outage = threading.Thread(target=lambda: (throwaway_redis.stop(), time.sleep(2), throwaway_redis.start()))

    def stop_redis_at_a_third(answered: int) -> None:
        if answered == count // 3:
            outage.start()

    try:
        results = storm(
            [f"{url}/c/{world['code']}"] * count, threads=10, on_answered=stop_redis_at_a_third, headers=BROWSER
        )
        outage.join()
    finally:
        web.stop()
    assert [status for status, _, _ in results] == [302] * count, web.output()[-3000:]
    redirected = [transaction_id(location) for _, _, location in results]
    # While Redis was away the web process inserted clicks itself.
    assert len(stored_clicks(hub)) > 0
    django_json(env, DRAIN_ALL % {"idle": 60_000})
    stored = stored_clicks(hub)
    assert sorted(stored) == sorted(redirected) and len(set(stored)) == count
    assert redis.Redis.from_url(throwaway_redis.url()).xlen("clicks:stream") == 0


# 200 clicks recorded as the redirect records them, into the Redis buffer.
BUFFER_CLICKS = """
import json
from offers.models import Link
from tracking.clicks.recording import Visitor, record_click
link = Link.objects.select_related("offer", "member").get()
visitor = Visitor(ip="203.0.113.9", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", referrer="")
print(json.dumps([record_click(link=link, visitor=visitor).transaction_id for _ in range(200)]))
"""

# A drain that stops for good at a chosen point of its first batch, to be killed there.
STALLING_DRAIN = """
import sys, time
from tracking.clicks import buffer
store = buffer.store_payloads
def stall(payloads):
    if %(after_insert)s:
        store(payloads)
    print("STALLED", flush=True)
    time.sleep(60)
buffer.store_payloads = stall
buffer.drain_click_buffer(batch_size=50)
"""


def kill_a_drain_mid_batch(env: dict, *, after_insert: bool) -> None:
    code = STALLING_DRAIN % {"after_insert": after_insert}
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (line := proc.stdout.readline()):
            lines.append(line)
            if line.startswith("STALLED"):
                break
        assert lines and lines[-1].startswith("STALLED"), "".join(lines)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_drain_workers_killed_between_reading_and_acknowledging_lose_and_double_nothing(hub, throwaway_redis):
    env = hub.env(throwaway_redis.url())
    hub.seed(env)
    redirected = django_json(env, BUFFER_CLICKS)
    buffer = redis.Redis.from_url(throwaway_redis.url())
    # One worker stored its batch and died before acknowledging it; another died before storing.
    kill_a_drain_mid_batch(env, after_insert=True)
    assert len(stored_clicks(hub)) == 50
    kill_a_drain_mid_batch(env, after_insert=False)
    assert len(stored_clicks(hub)) == 50
    assert buffer.xpending("clicks:stream", "clicks-drain")["pending"] == 100
    # The next drain takes over what they read (after CLAIM_IDLE_MS; here at once) and the rest.
    assert django_json(env, DRAIN_ALL % {"idle": 0}) == 200
    stored = stored_clicks(hub)
    assert sorted(stored) == sorted(redirected) and len(set(stored)) == 200
    assert buffer.xpending("clicks:stream", "clicks-drain")["pending"] == 0
    assert buffer.xlen("clicks:stream") == 0


def test_the_broker_stopped_while_conversions_change_delays_the_ledger_and_loses_nothing(hub, throwaway_redis):
    env = hub.env(throwaway_redis.url())
    world = hub.seed(env, clicks=40)
    web, url = start_web(env, hub.folder)
    worker = start_worker(env, hub.folder, beat=True)
    base = f"{url}/postback/impact/{world['secret']}?"

    def postbacks(numbers, status):
        urls = [base + f"subid1=fault{i}&action_id=5.{i}&amount=50.00&payout=5.00&status={status}" for i in numbers]
        return [answer for _, answer, _ in storm(urls, threads=4)]

    def unprocessed():
        return hub.value("SELECT count(*) FROM tracking_conversionevent WHERE processed_at IS NULL")

    try:
        assert postbacks(range(20), "pending") == ["accepted"] * 20
        # The worker is connected to the broker when the broker goes away.
        assert wait_for(lambda: "ready." in worker.output(), timeout=30), worker.output()[-3000:]
        throwaway_redis.stop()
        # Without a broker, conversions still change: the outbox rows wait in PostgreSQL.
        assert postbacks(range(20, 40), "pending") == ["accepted"] * 20
        assert postbacks(range(20), "approved") == ["updated"] * 20
        assert unprocessed() > 0
        throwaway_redis.start()
        assert wait_for(lambda: unprocessed() == 0, timeout=60), worker.output()[-3000:]
    finally:
        worker.stop()
        web.stop()
    assert hub.value("SELECT count(*) FROM tracking_conversion") == 40
    assert hub.value("SELECT count(*) FROM tracking_conversion WHERE status = 'approved'") == 20
    hub.check_ledger(env)
