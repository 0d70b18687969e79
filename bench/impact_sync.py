"""Impact sync benchmark: a full Actions sync from the local stand-in server.

The stand-in (tests/tools/impact_standin.py) runs in its own process and serves N
generated actions over 60 days, with Impact's rules (45-day windows, PageSize >= 2000,
at most 10 pages per listing). Each size is synced in a fresh child process so its
peak memory (ru_maxrss) is its own: the sync streams pages, so the peak should not
grow with N. Target: 100,000 actions in under 60 s.

    make bench ARGS="impact_sync"                 # 20,000 and 100,000 actions
    BENCH_IMPACT_SIZES=5000 make bench ARGS="impact_sync"
"""

import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from bench import common

TITLE = "Impact sync: full Actions sync from a stand-in serving 20,000 and 100,000 actions"
PORT = int(os.environ.get("BENCH_IMPACT_PORT", "8105"))
DAYS = 60
DB_NAME = "bench_impact_sync"


def run(argv) -> dict:
    sizes = [int(s) for s in os.environ.get("BENCH_IMPACT_SIZES", "20000,100000").split(",")]
    database = common.create_database(DB_NAME)
    env = common.production_env(database, IMPACT_API_BASE_URL=f"http://127.0.0.1:{PORT}", CLICK_BUFFER="direct")
    results = {}
    try:
        common.manage(env, "migrate", "--noinput", timeout=600)
        for n in sizes:
            standin = common.start(
                [sys.executable, "-m", "tests.tools.impact_standin", "--port", str(PORT), "--actions", str(n)]
                + ["--days", str(DAYS)],
                env,
                f"impact-standin-{n}",
            )
            try:
                common.wait_http(f"http://127.0.0.1:{PORT}/", standin, timeout=30)
                out = subprocess.run(
                    [sys.executable, "-m", "bench.impact_sync", "--child", str(n)],
                    cwd=common.ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=1800,
                )
                if out.returncode != 0:
                    raise common.BenchError(f"sync of {n} actions failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
                figures = json.loads(out.stdout.strip().splitlines()[-1])
            finally:
                common.stop(standin)
            results[n] = figures
            print(
                f"{n:>7} actions: {figures['seconds']:.1f} s ({figures['actions_per_second']:.0f}/s), "
                f"{figures['pages']} pages, {figures['requests']} requests, peak RSS {figures['peak_rss_mb']:.0f} MB "
                f"(+{figures['rss_growth_mb']:.0f} MB over the idle process), status {figures['status']}",
                flush=True,
            )
    finally:
        common.drop_database(DB_NAME)
    summary = {str(n): r for n, r in results.items()}
    if len(results) > 1:
        small, large = results[min(results)], results[max(results)]
        summary["peak_growth_ratio"] = round(large["rss_growth_mb"] / max(small["rss_growth_mb"], 1), 2)
        ratio = summary["peak_growth_ratio"]
        print(f"memory: from {min(results)} to {max(results)} actions the sync's RSS growth changes x{ratio}")
    big = results.get(100000)
    if big:
        print(
            f"target < 60 s for 100,000 actions: {'met' if big['seconds'] < 60 else 'NOT met'} ({big['seconds']:.1f} s)"
        )
    return summary


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(n: int) -> None:
    """In a fresh process: one workspace, one Impact connection, one full sync."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from networks import services
    from networks.crypto import encrypt_credentials
    from offers.models import NetworkConnection
    from tests.tools.impact_standin import SID, TOKEN
    from workspaces.models import Workspace

    workspace = Workspace.objects.create(name=f"Bench {n}", slug=Workspace.unique_slug(f"bench-impact-{n}"))
    connection = NetworkConnection.objects.create(
        workspace=workspace,
        kind="impact",
        label="Impact bench",
        account_sid=SID,
        credentials_encrypted=encrypt_credentials({"auth_token": TOKEN}),
    )
    since = datetime.now(UTC) - timedelta(days=DAYS + 1)
    run = services.start_sync_run(connection=connection, kind="actions", trigger="command", since=since)
    baseline = _rss_mb()
    started = time.monotonic()
    services.execute_sync_run(run=run)
    seconds = time.monotonic() - started
    run.refresh_from_db()
    peak = _rss_mb()
    print(
        json.dumps(
            {
                "actions": n,
                "seconds": round(seconds, 2),
                "actions_per_second": round(n / seconds, 1),
                "status": run.status,
                "error": run.error,
                "created": run.created_count,
                "pages": run.pages_done,
                "requests": run.requests,
                "peak_rss_mb": round(peak, 1),
                "rss_growth_mb": round(peak - baseline, 1),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(int(sys.argv[2]))
    else:
        print(json.dumps(run(sys.argv[1:]), indent=2))
