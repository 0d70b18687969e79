"""Shared by the Impact, ShareASale and Awin sync benchmarks: a stand-in serving N rows (Impact's
actions) in its own process, and one full sync per size in a fresh child process (so each peak
RSS is its own).

A sync streams the network's answer and stores it 2,000 rows at a time, so the peak should
not grow with N. Target: 100,000 rows in under 60 s.
"""

import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from bench import common

DAYS = 60


def run_section(
    *, network: str, module: str, standin: str, port: int, sizes_env: str, db_name: str, env_extra, unit: str = "rows"
):
    """Sync each size of ``sizes_env`` from ``standin``; ``unit`` names what the stand-in serves in the figures."""
    sizes = [int(s) for s in os.environ.get(sizes_env, "20000,100000").split(",")]
    database = common.create_database(db_name)
    env = common.production_env(database, CLICK_BUFFER="direct", **env_extra(port))
    results = {}
    try:
        common.manage(env, "migrate", "--noinput", timeout=600)
        for n in sizes:
            server = common.start(
                [sys.executable, "-m", standin, "--port", str(port), "--rows", str(n), "--days", str(DAYS)],
                env,
                f"{network}-standin-{n}",
            )
            try:
                common.wait_http(f"http://127.0.0.1:{port}/", server, timeout=30)
                out = subprocess.run(
                    [sys.executable, "-m", module, "--child", str(n)],
                    cwd=common.ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=1800,
                )
                if out.returncode != 0:
                    raise common.BenchError(f"sync of {n} {unit} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
                figures = json.loads(out.stdout.strip().splitlines()[-1])
            finally:
                common.stop(server)
            results[n] = figures
            print(
                f"{n:>7} {unit}: {figures['seconds']:.1f} s ({figures[f'{unit}_per_second']:.0f}/s), "
                f"{figures['created']} created, {figures['pages']} pages, {figures['requests']} requests, "
                f"peak RSS {figures['peak_rss_mb']:.0f} MB (+{figures['rss_growth_mb']:.0f} MB over the idle "
                f"process), status {figures['status']} {figures['error']}",
                flush=True,
            )
    finally:
        common.drop_database(db_name)
    summary = {str(n): r for n, r in results.items()}
    if len(results) > 1:
        small, large = results[min(results)], results[max(results)]
        summary["peak_growth_ratio"] = round(large["rss_growth_mb"] / max(small["rss_growth_mb"], 1), 2)
        print(
            f"memory: from {min(results)} to {max(results)} {unit} the sync's RSS growth changes "
            f"x{summary['peak_growth_ratio']}"
        )
    big = results.get(100000)
    if big:
        met = "met" if big["seconds"] < 60 and big["status"] == "succeeded" else "NOT met"
        print(f"target < 60 s for 100,000 {unit}: {met} ({big['seconds']:.1f} s)")
    return summary


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(n: int, *, kind: str, make_connection, unit: str = "rows") -> None:
    """In a fresh process: one workspace, one connection, one full sync of ``kind``."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from networks import services
    from workspaces.models import Workspace

    workspace = Workspace.objects.create(name=f"Bench {n}", slug=Workspace.unique_slug(f"bench-sync-{n}"))
    connection = make_connection(workspace)
    since = datetime.now(UTC) - timedelta(days=DAYS + 1)
    run = services.start_sync_run(connection=connection, kind=kind, trigger="command", since=since)
    baseline = _rss_mb()
    started = time.monotonic()
    services.execute_sync_run(run=run)
    seconds = time.monotonic() - started
    run.refresh_from_db()
    peak = _rss_mb()
    print(
        json.dumps(
            {
                unit: n,
                "seconds": round(seconds, 2),
                f"{unit}_per_second": round(n / seconds, 1),
                "status": run.status,
                "error": run.error or run.note if run.status != "succeeded" else "",
                "created": run.created_count,
                "pages": run.pages_done,
                "requests": run.requests,
                "peak_rss_mb": round(peak, 1),
                "rss_growth_mb": round(peak - baseline, 1),
            }
        )
    )
