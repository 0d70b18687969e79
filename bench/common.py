"""Helpers shared by the benchmark sections.

A section typically: creates a throwaway PostgreSQL database, migrates it, seeds rows
with ``django_call``, starts gunicorn (config/gunicorn.py) and a Celery worker with
production-like settings, drives the server with ``wrk``, and stops everything.

Environment: BENCH_DATABASE_URL (else DATABASE_URL) names the PostgreSQL server to
create databases on; BENCH_REDIS_URL (else REDIS_URL) is the Redis database the
servers use. Give the benchmark a Redis database of its own.
"""

from __future__ import annotations

import json
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WRK = shutil.which("wrk") or "/usr/bin/wrk"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


class BenchError(RuntimeError):
    pass


# --- databases and Redis -------------------------------------------------------


def server_database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise BenchError("the benchmark needs PostgreSQL: set BENCH_DATABASE_URL or DATABASE_URL=postgres://...")
    return url


def redis_url() -> str:
    url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL", "")
    if not url:
        raise BenchError("the benchmark needs Redis: set BENCH_REDIS_URL or REDIS_URL=redis://...")
    return url


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(server_database_url())._replace(path="/" + name))


def _admin_connection():
    import psycopg

    return psycopg.connect(database_url("postgres"), autocommit=True)


def create_database(name: str) -> str:
    """Drop and create database ``name``; returns its URL."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise BenchError(f"bad database name {name!r}")
    with _admin_connection() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return database_url(name)


def drop_database(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- processes -------------------------------------------------------------------


def production_env(database: str, **extra: str) -> dict[str, str]:
    """Environment for a production-like server: DEBUG off, real secrets, PostgreSQL and Redis."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + secrets.token_hex(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": database,
            "REDIS_URL": redis_url(),
            "CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
            "BENCH_ENDPOINTS": "true",
            "CELERY_QUEUE": "bench-" + secrets.token_hex(4),
        }
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def django_call(env: dict, code: str, timeout: float = 300):
    """Run Python ``code`` in a Django shell under ``env``; it must print one JSON line last."""
    out = manage(env, "shell", "-c", code, timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


ANALYZE = """
import json
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
print(json.dumps({"analyzed": True}))
"""


def analyze(env: dict) -> None:
    """Give the planner statistics for the seeded rows, as autovacuum does on a live database.

    A server with autovacuum off (some CI setups) never gathers them, and the plans the
    hot statements are prepared with then stay those of empty tables.
    """
    django_call(env, ANALYZE)


def start(args: list[str], env: dict, log_name: str) -> subprocess.Popen:
    log = open(Path(tempfile.gettempdir()) / f"bench-{log_name}.log", "w")  # noqa: SIM115 - closed by stop()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_file = log
    return proc


def start_gunicorn(env: dict, port: int, *, config: str = "config/gunicorn.py") -> subprocess.Popen:
    """gunicorn with ``config`` (GUNICORN_WORKERS/GUNICORN_THREADS in ``env`` tune config/gunicorn.py)."""
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    args = [PYTHON, "-m", "gunicorn", "-c", config, "config.wsgi:application"]
    proc = start(args, env, f"gunicorn-{port}")
    try:
        wait_http(f"http://127.0.0.1:{port}/bench/302", proc)
    except BaseException:
        stop(proc)
        raise
    return proc


def start_celery(env: dict, *, beat: bool = True) -> subprocess.Popen:
    """A Celery worker (solo pool) on the env's queue, with the beat schedule embedded."""
    args = [PYTHON, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", env["CELERY_QUEUE"]]
    args += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"]
    if beat:
        schedule = Path(tempfile.gettempdir()) / f"bench-beat-{env['CELERY_QUEUE']}"
        args += ["-B", "-s", str(schedule)]
    return start(args, env, "celery")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Wait until ``url`` answers anything (redirects are not followed)."""
    opener = urllib.request.build_opener(_NoRedirect)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"server exited with {proc.returncode}; see {proc.log_file.name}")
        try:
            opener.open(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise BenchError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen | None, timeout: float = 20) -> None:
    """SIGTERM the process group (graceful for gunicorn and celery), SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    finally:
        proc.log_file.close()


@contextmanager
def running(*procs: subprocess.Popen):
    try:
        yield procs
    finally:
        for proc in reversed(procs):
            stop(proc)


def wait_until(predicate, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# --- wrk -------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise BenchError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict:
    """Requests, throughput, errors and latency percentiles (ms) from ``wrk --latency`` output."""
    result: dict = {"errors": 0, "non_2xx_3xx": 0}
    if m := re.search(r"(\d+) requests in ([\d.]+)(\w+),", output):
        result["requests"] = int(m.group(1))
        result["duration_s"] = _ms(m.group(2) + m.group(3)) / 1000
    if m := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result["rps"] = float(m.group(1))
    if m := re.search(r"Latency\s+([\d.]+\w+)\s+([\d.]+\w+)\s+([\d.]+\w+)", output):
        result["latency_avg_ms"] = _ms(m.group(1))
        result["latency_max_ms"] = _ms(m.group(3))
    for pct in ("50", "75", "90", "99"):
        if m := re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+\w+)", output, re.MULTILINE):
            result[f"p{pct}_ms"] = _ms(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        result["errors"] = sum(int(g) for g in m.groups())
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result["non_2xx_3xx"] = int(m.group(1))
    if "rps" not in result or "p99_ms" not in result:
        raise BenchError("unreadable wrk output:\n" + output)
    return result


def run_wrk(url: str, *, seconds: int = 15, connections: int = 64, threads: int = 2, headers=()) -> dict:
    args = [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for header in headers:
        args += ["-H", header]
    with cpu_meter() as cpu:
        result = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise BenchError(f"wrk failed: {result.stderr}")
    parsed = parse_wrk(result.stdout)
    parsed["raw"] = result.stdout
    parsed["cpu_us"] = cpu.per_request(parsed["requests"])
    return parsed


# --- where the CPU went ------------------------------------------------------------

# Processes by their name (/proc/<pid>/comm): the servers under test are Python processes;
# the bench's own Python process only waits while wrk runs.
CPU_GROUPS = {"python": "python", "postgres": "postgresql", "redis-server": "redis"}
_TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")


def _process_ticks() -> dict[int, tuple[str, int]]:
    """user + system clock ticks of every process, by pid, with its name."""
    ticks = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        name, rest = raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :].split()
        ticks[int(entry.name)] = (name, int(rest[11]) + int(rest[12]))  # utime, stime
    return ticks


def _machine_ticks() -> tuple[int, int]:
    """(busy, idle) clock ticks of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values[:8]) - idle, idle


class CpuMeter:
    """The CPU each group of processes used between ``start`` and ``stop``.

    Read from /proc: a process that starts and ends inside the window is not seen (a
    PostgreSQL backend of a short connection, say); the servers measured here keep theirs
    open, and wrk's own CPU comes from this process's children's usage once it has exited.
    """

    def start(self) -> None:
        self.processes = _process_ticks()
        self.machine = _machine_ticks()
        self.children = resource.getrusage(resource.RUSAGE_CHILDREN)

    def stop(self) -> None:
        used: Counter = Counter()
        for pid, (name, ticks) in _process_ticks().items():
            old = self.processes.get(pid)
            used[CPU_GROUPS.get(name, "other")] += ticks - (old[1] if old and old[0] == name else 0)
        self.used_us = {group: ticks * _TICK_US for group, ticks in used.items()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        # wrk has exited by now: its CPU is in this process's children's usage.
        self.used_us["wrk"] = (
            children.ru_utime - self.children.ru_utime + children.ru_stime - self.children.ru_stime
        ) * 1_000_000
        busy, idle = (after - before for after, before in zip(_machine_ticks(), self.machine, strict=True))
        self.idle_share = idle / (busy + idle) if busy + idle else 0.0

    def per_request(self, requests: int) -> dict[str, float]:
        """µs of CPU per request by group, and the machine's idle share (0..1) as ``idle``."""
        split = {group: round(us / max(requests, 1), 1) for group, us in sorted(self.used_us.items()) if us > 0}
        return {**split, "idle": round(self.idle_share, 3)}


@contextmanager
def cpu_meter():
    meter = CpuMeter()
    meter.start()
    try:
        yield meter
    finally:
        meter.stop()
