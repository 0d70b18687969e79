"""The web servers `make bench` measures: the project under each server, and the bare references.

Every path is reported as a share of the **fastest** bare reference measured in the same
run: a Django project that only answers a 302 (bench/bare_site.py), served by granian
(WSGI, one worker per core, one blocking thread) and by gunicorn (sync, cores + 1
workers). Both are started the way production starts the project (`python -m
config.serve`, WEB_SERVER picks the server), so the only difference between a bare
reference and a project path is the project's own work.
"""

from __future__ import annotations

import os
import statistics
import subprocess
from collections.abc import Callable

from bench import common

KINDS = ("granian", "gunicorn")
PROJECT_APP = "config.wsgi:application"
BARE_APP = "bench.bare_site:application"


def start(kind: str, env: dict, port: int, *, app: str = PROJECT_APP) -> subprocess.Popen:
    """``python -m config.serve`` with WEB_SERVER=``kind`` serving ``app`` on ``port``; waits until it answers."""
    env = {**env, "WEB_SERVER": kind, "WEB_BIND": f"127.0.0.1:{port}", "APP": app}
    proc = common.start([common.PYTHON, "-m", "config.serve"], env, f"{kind}-{port}")
    try:
        common.wait_http(f"http://127.0.0.1:{port}/bench/302", proc)
    except BaseException:
        common.stop(proc)
        raise
    return proc


def start_bare(kind: str, env: dict, port: int) -> subprocess.Popen:
    """The bare reference: granian with a worker per core, gunicorn with its cores + 1 sync workers."""
    env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_site"}
    if kind == "granian":
        env["WEB_WORKERS"] = str(os.cpu_count() or 1)
    return start(kind, env, port, app=BARE_APP)


def interleaved(targets: dict[str, Callable[[int], dict]], passes: int) -> dict[str, dict]:
    """Run every target once per pass, in turn, ``passes`` times; medians per target.

    A target is ``fn(pass_number) -> wrk result``. Interleaving spreads whatever else the
    machine does over all targets instead of charging it to one.
    """
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for number in range(passes):
        for name, measure in targets.items():
            runs[name].append(measure(number))
    return {name: summarize(results) for name, results in runs.items()}


def summarize(results: list[dict]) -> dict:
    summary = {
        key: statistics.median(r[key] for r in results)
        for key in ("rps", "p50_ms", "p99_ms")
        if all(key in r for r in results)
    }
    summary["passes_rps"] = [round(r["rps"]) for r in results]
    if all("cpu_us" in r for r in results):
        groups = sorted({group for r in results for group in r["cpu_us"]})
        summary["cpu_us"] = {group: statistics.median(r["cpu_us"].get(group, 0.0) for r in results) for group in groups}
    summary["errors"] = sum(r.get("errors", 0) + r.get("non_2xx_3xx", 0) for r in results)
    for key in ("ok", "other"):
        if all(key in r for r in results):
            summary[key] = sum(r[key] for r in results)
    return summary


def fastest_bare(measured: dict[str, dict]) -> tuple[str, float]:
    bare = {name: m["rps"] for name, m in measured.items() if name.startswith("bare ")}
    name = max(bare, key=bare.get)
    return name, bare[name]


def print_table(measured: dict[str, dict]) -> dict[str, float]:
    """Print every target with its ratio to the fastest bare reference; returns the ratios."""
    reference, reference_rps = fastest_bare(measured)
    ratios = {}
    width = max(len(name) for name in measured)
    for name, m in measured.items():
        ratios[name] = m["rps"] / reference_rps if reference_rps else 0.0
        passes = " / ".join(str(r) for r in m["passes_rps"])
        print(
            f"{name:<{width}} : {m['rps']:>8.0f} req/s  x{ratios[name]:.2f}  p50 {m['p50_ms']:6.2f} ms  "
            f"p99 {m['p99_ms']:7.2f} ms  (passes {passes})"
        )
    print(f"ratios are to the fastest bare reference: {reference} ({reference_rps:.0f} req/s)")
    print_cpu(measured)
    return ratios


CPU_COLUMNS = ("python", "postgresql", "redis", "wrk", "other")


def print_cpu(measured: dict[str, dict]) -> None:
    """Where each target's CPU went: µs per request by group of processes, and the idle share.

    ``python`` is the server under test and any worker beside it (the click drain); the
    rest of the machine's CPU is PostgreSQL, Redis, wrk itself and everything else.
    """
    rows = {name: m["cpu_us"] for name, m in measured.items() if "cpu_us" in m}
    if not rows:
        return
    width = max(len(name) for name in rows)
    cores = os.cpu_count()
    print(f"CPU per request, µs (medians of the passes; {cores} cores = {cores * 1_000_000:,} µs of CPU a second):")
    print(f"{'':<{width}}   " + " ".join(f"{c:>10}" for c in (*CPU_COLUMNS, "total", "idle")))
    for name, cpu in rows.items():
        total = sum(cpu.get(c, 0.0) for c in CPU_COLUMNS)
        cells = " ".join(f"{cpu.get(c, 0.0):>10.0f}" for c in CPU_COLUMNS)
        print(f"{name:<{width}}   {cells} {total:>10.0f} {cpu.get('idle', 0.0):>10.0%}")


def cpu_budget(measured: dict[str, dict], name: str, ratio: float) -> dict | None:
    """What ``ratio`` of the fastest bare 302 allows ``name`` per request, against what it spends.

    A machine whose cores are all busy answers cores x 1e6 / (CPU µs per request)
    requests a second, so x``ratio`` leaves each request cores x 1e6 / (ratio x bare
    req/s) µs of CPU in all: the server, the database, Redis and wrk together.
    """
    cpu = measured[name].get("cpu_us")
    if not cpu:
        return None
    _, reference_rps = fastest_bare(measured)
    budget = os.cpu_count() * 1_000_000 / (ratio * reference_rps)
    spent = {group: cpu.get(group, 0.0) for group in CPU_COLUMNS}
    return {"ratio": ratio, "budget_us": round(budget), "spent_us": round(sum(spent.values())), "by_group": spent}


def print_budget(name: str, budget: dict | None) -> None:
    if budget is None:
        return
    parts = ", ".join(f"{group} {us:.0f}" for group, us in budget["by_group"].items() if us >= 1)
    over = [group for group, us in budget["by_group"].items() if group != "python" and us > budget["budget_us"]]
    line = (
        f"budget : x{budget['ratio']:.2f} leaves {name} {budget['budget_us']} µs of CPU per request in all; "
        f"it spends {budget['spent_us']} ({parts})"
    )
    if over:
        line += f"; {' and '.join(over)} alone exceed{'s' if len(over) == 1 else ''} it"
    print(line)
