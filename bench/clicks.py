"""`make bench ARGS=clicks`: the click redirect against the fastest bare Django 302.

1. A throwaway PostgreSQL database is created and migrated, and one link is seeded.
2. The project is started under granian and under gunicorn (`python -m config.serve`,
   DEBUG=false, the application wrapped by bench/counting.py, which counts the 302s it
   answers on /c/), with a Celery worker and the beat schedule (which drains the Redis
   click buffer every 2 s); the bare references of bench/servers.py beside them.
3. wrk (2 threads, 64 connections) drives, in turn and PASSES times over, each bare
   302 and /c/<code> on each server, for --seconds each after a short warm-up.
4. Once the buffer is drained, the clicks stored are compared with the 302s the servers
   answered on /c/: they must be equal, each with its own transaction id.

Options (in ARGS): --seconds=N, --connections=N, --passes=N, --port=N, --keep (keep the database).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench import common, servers
from workspaces.public_paths import click_path

TITLE = "Click redirect: /c/<code> under granian and gunicorn vs the fastest bare Django 302"
DATABASE = "bench_clicks"
TARGET_RATIO = 0.50
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
    passes = _option(argv, "passes", 3)
    port = _option(argv, "port", 8102)
    count_dir = Path(tempfile.mkdtemp(prefix="bench-clicks-"))
    env = common.production_env(common.create_database(DATABASE), CLICK_BUFFER="redis", BENCH_COUNT_DIR=str(count_dir))
    headers = [f"User-Agent: {common.BROWSER_UA}"]
    try:
        common.manage(env, "migrate", "--noinput")
        code = common.django_call(env, SEED)["code"]
        common.analyze(env)
        urls: dict[str, str] = {}
        procs = [common.start_celery(env, beat=True)]
        with common.running(*procs):
            for offset, kind in enumerate(servers.KINDS):
                procs.append(servers.start_bare(kind, env, port + offset))
                urls[f"bare 302, {kind}"] = f"http://127.0.0.1:{port + offset}/bench/302"
            for offset, kind in enumerate(servers.KINDS, start=len(servers.KINDS)):
                procs.append(servers.start(kind, env, port + offset, app="bench.counting:application"))
                urls[f"/c/<code>, {kind}"] = f"http://127.0.0.1:{port + offset}" + click_path(code)
            try:
                for url in urls.values():
                    common.run_wrk(url, seconds=3, connections=connections, headers=headers)
                targets = {
                    name: (
                        lambda _pass, url=url: common.run_wrk(
                            url, seconds=seconds, connections=connections, headers=headers
                        )
                    )
                    for name, url in urls.items()
                }
                measured = servers.interleaved(targets, passes)

                def drained():
                    counts = common.django_call(env, COUNT)
                    return counts["buffered"] == 0 and counts["stored"] >= _server_counts(count_dir).get("click", 0)

                common.wait_until(drained, timeout=180, interval=2)
                answered = _server_counts(count_dir).get("click", 0)
                counts = common.django_call(env, COUNT)
            finally:
                for proc in reversed(procs[1:]):
                    common.stop(proc)
    finally:
        if "--keep" not in argv:
            common.drop_database(DATABASE)

    ratios = servers.print_table(measured)
    click_names = [name for name in measured if name.startswith("/c/")]
    best = max(click_names, key=lambda name: measured[name]["rps"])
    lost = answered - counts["stored"]
    result = {
        "measured": measured,
        "ratios": {name: round(r, 3) for name, r in ratios.items()},
        "fastest_click_server": best,
        "clicks_answered_302": answered,
        "clicks_stored": counts["stored"],
        "clicks_distinct_transaction_ids": counts["distinct"],
        "clicks_lost": lost,
        "seconds": seconds,
        "connections": connections,
        "passes": passes,
    }
    errors = sum(measured[name]["errors"] for name in click_names)
    result["targets_met"] = bool(
        ratios[best] >= TARGET_RATIO
        and measured[best]["p99_ms"] < TARGET_P99_MS
        and lost == 0
        and counts["distinct"] == counts["stored"]
        and errors == 0
    )
    print(
        f"clicks  : {answered} answered with a 302 (warm-up included), {counts['stored']} stored after the drain, "
        f"{counts['distinct']} distinct transaction ids, {lost} lost, {errors} errors"
    )
    result["cpu_budget"] = servers.cpu_budget(measured, best, TARGET_RATIO)
    servers.print_budget(best, result["cpu_budget"])
    print(
        f"targets : {best} at x{ratios[best]:.2f} of the fastest bare 302 (target >= {TARGET_RATIO:.2f}), "
        f"p99 {measured[best]['p99_ms']:.0f} ms (target < {TARGET_P99_MS:.0f}):",
        "met" if result["targets_met"] else "NOT met",
    )
    return result
