"""`make bench ARGS=clicks`: the click redirect against a bare 302 under the same server.

1. A throwaway PostgreSQL database is created and migrated, and one link is seeded.
2. gunicorn (config/gunicorn.py, DEBUG=false) and a Celery worker with the beat
   schedule (which drains the Redis click buffer every 2 s) are started.
3. wrk drives GET /bench/302 (a view that only answers a 302) and then GET /c/<code>,
   each for 15 s with 64 connections, after a short warm-up.
4. Once the buffer is drained, the clicks stored are compared with the 302s the server
   answered on /c/ (counted in the gunicorn workers): they must be equal.

Options (in ARGS): --seconds=N, --connections=N, --port=N, --keep (keep the database).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench import common
from workspaces.public_paths import click_path

TITLE = "Click redirect: /c/<code> vs a bare 302"
DATABASE = "bench_clicks"
TARGET_RATIO = 0.45
TARGET_P99_MS = 100.0

SEED = """
import json
from offers.models import Link, Member, Offer
from tracking.clicks import buffer
from workspaces.models import Workspace
ws, _ = Workspace.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
offer = Offer.objects.create(
    workspace=ws, name="Bench offer", utm_source="hub", utm_medium="affiliate",
    offer_url="https://brand.sjv.io/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}",
)
member = Member.objects.create(workspace=ws, name="Bench member")
link = Link.objects.create(workspace=ws, offer=offer, member=member)
client = buffer.buffer_client()
client.delete(buffer.STREAM_KEY)
print(json.dumps({"code": link.code}))
"""

COUNT = """
import json
from tracking.clicks import buffer
from tracking.models import Click
print(json.dumps({"stored": Click.objects.count(), "buffered": buffer.buffered_click_count(),
                  "distinct": Click.objects.values("transaction_id").distinct().count()}))
"""


def _option(argv: list[str], name: str, default: int) -> int:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
    return default


def _server_counts(directory: Path) -> dict:
    total: dict[str, int] = {}
    for path in directory.glob("*.json"):
        for key, value in json.loads(path.read_text()).items():
            total[key] = total.get(key, 0) + value
    return total


def run(argv: list[str]) -> dict:
    seconds = _option(argv, "seconds", 15)
    connections = _option(argv, "connections", 64)
    port = _option(argv, "port", 8102)
    count_dir = Path(tempfile.mkdtemp(prefix="bench-clicks-"))
    env = common.production_env(common.create_database(DATABASE), CLICK_BUFFER="redis", BENCH_COUNT_DIR=str(count_dir))
    try:
        common.manage(env, "migrate", "--noinput")
        code = common.django_call(env, SEED)["code"]
        common.analyze(env)
        worker = common.start_celery(env, beat=True)
        try:
            server = common.start_gunicorn(env, port, config="bench/gunicorn_counting.py")
        except BaseException:
            common.stop(worker)
            raise
        with common.running(worker, server):
            base = f"http://127.0.0.1:{port}"
            headers = [f"User-Agent: {common.BROWSER_UA}"]
            for url in (f"{base}/bench/302", base + click_path(code)):
                common.run_wrk(url, seconds=3, connections=connections, headers=headers)
            bare = common.run_wrk(f"{base}/bench/302", seconds=seconds, connections=connections, headers=headers)
            click = common.run_wrk(base + click_path(code), seconds=seconds, connections=connections, headers=headers)

            def drained():
                counts = common.django_call(env, COUNT)
                return counts["buffered"] == 0 and counts["stored"] >= _server_counts(count_dir).get("click", 0)

            common.wait_until(drained, timeout=120, interval=2)
            answered = _server_counts(count_dir).get("click", 0)
            counts = common.django_call(env, COUNT)
    finally:
        if "--keep" not in argv:
            common.drop_database(DATABASE)

    ratio = click["rps"] / bare["rps"] if bare["rps"] else 0.0
    result = {
        "bare_302_rps": round(bare["rps"]),
        "click_rps": round(click["rps"]),
        "ratio": round(ratio, 3),
        "bare_302_p50_ms": bare["p50_ms"],
        "bare_302_p99_ms": bare["p99_ms"],
        "click_p50_ms": click["p50_ms"],
        "click_p99_ms": click["p99_ms"],
        "click_errors": click["errors"] + click["non_2xx_3xx"],
        "clicks_answered_302": answered,
        "clicks_stored": counts["stored"],
        "clicks_distinct_transaction_ids": counts["distinct"],
        "clicks_lost": answered - counts["stored"],
        "seconds": seconds,
        "connections": connections,
    }
    result["targets_met"] = bool(
        ratio >= TARGET_RATIO
        and click["p99_ms"] < TARGET_P99_MS
        and result["clicks_lost"] == 0
        and counts["distinct"] == counts["stored"]
        and result["click_errors"] == 0
    )
    print(f"bare 302   : {bare['rps']:>8.0f} req/s   p50 {bare['p50_ms']:.2f} ms   p99 {bare['p99_ms']:.2f} ms")
    print(f"/c/<code>  : {click['rps']:>8.0f} req/s   p50 {click['p50_ms']:.2f} ms   p99 {click['p99_ms']:.2f} ms")
    print(
        f"ratio      : {ratio:.1%} of the bare 302 (target >= {TARGET_RATIO:.0%}; p99 target < {TARGET_P99_MS:.0f} ms)"
    )
    print(
        f"clicks     : {answered} answered with a 302 (warm-up included), {counts['stored']} stored after the drain, "
        f"{counts['distinct']} distinct transaction ids, {result['clicks_lost']} lost"
    )
    print("targets    :", "met" if result["targets_met"] else "NOT met")
    return result
