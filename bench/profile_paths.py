"""`python -m bench.profile_paths`: the CPU each public path costs per request, measured in-process.

wrk's throughput depends on everything else the machine runs; the CPU a request costs
the web process does not. This script builds the production WSGI application
(config/wsgi.py) in this process with production-like settings (DEBUG off, the Redis
click buffer, the connection pool), seeds a workspace of its own, and calls the
application directly, REQUESTS times per path:

- click: GET /c/<code> on a link that exists (a browser's user agent);
- postback attributed / unattributed: GET /postback/impact/<secret> with a unique
  action id per request, whose click exists / is unknown;
- postback duplicate: the same postback again and again;
- pixel: GET /pixel/<secret>.gif with a unique attributed hit per request.

For each it reports the CPU time of this process (time.process_time) per request, the
SQL statements Django's cursors ran, the Redis round trips and the connections borrowed
from the pool per request, each the lowest of ROUNDS rounds (the round least disturbed by
whatever else the machine runs; the counts are the same in every round). Afterwards it drains the
click buffer and checks that every 302 and every accepted hit was stored once.
Beside it, the CPU every PostgreSQL and Redis process used in the same window, per request
(read from /proc in clock ticks, so a few percent either way; on a quiet machine these are
the database's and Redis's share of each path, which wrk's runs cannot separate so cleanly).

Environment: DATABASE_URL (PostgreSQL; it is migrated and a fresh workspace is seeded
in it on every run) and REDIS_URL (its click stream is drained), or BENCH_DATABASE_URL /
BENCH_REDIS_URL. Options: --requests=N (default 300), --rounds=N (default 10),
--paths=click,attributed,... (default all), --profile=DIR (write a profile of each path
there: pyinstrument's text and HTML if it is installed, else cProfile's statistics).
"""

from __future__ import annotations

import io
import os
import secrets
import sys
import time
from collections import Counter
from pathlib import Path

from bench import common

PATHS = ("click", "attributed", "unattributed", "duplicate", "pixel")
WARM_UP = 200
EVENT_DATE = "2024-09-10T10%3A42%3A38-07%3A00"


def _option(argv: list[str], name: str, default):
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return type(default)(arg.split("=", 1)[1])
    return default


def _configure() -> None:
    """Production-like settings for this process, as `make bench` gives its servers."""
    # DEBUG stays off, so Django keeps no query log; statements are counted below.
    os.environ.update(common.production_env(common.server_database_url(), CLICK_BUFFER="redis"))


# --- counting ----------------------------------------------------------------


class Counts:
    """SQL statements, Redis round trips and pool checkouts, counted while ``active``."""

    def __init__(self):
        self.counter: Counter = Counter()
        self.active = False

    def install(self) -> None:
        import psycopg_pool
        import redis.connection
        from django.db import connection

        counts = self

        def count_sql(execute, sql, params, many, context):
            if counts.active:
                counts.counter["sql"] += 1
            return execute(sql, params, many, context)

        connection.execute_wrappers.append(count_sql)

        send = redis.connection.AbstractConnection.send_packed_command

        def send_packed_command(self, command, check_health=True):
            if counts.active:
                counts.counter["redis"] += 1
            return send(self, command, check_health)

        redis.connection.AbstractConnection.send_packed_command = send_packed_command

        getconn = psycopg_pool.ConnectionPool.getconn

        def counted_getconn(self, timeout=None):
            if counts.active:
                counts.counter["pool"] += 1
            return getconn(self, timeout)

        psycopg_pool.ConnectionPool.getconn = counted_getconn


# --- the world -----------------------------------------------------------------


def seed(requests: int, rounds: int) -> dict:
    """A workspace with an Impact connection, an offer, a member, a link, and a click for every attributed hit."""
    from django.db import connection
    from django.utils import timezone

    from offers.models import Link, Member, NetworkConnection, Offer
    from tracking.clicks.payload import mint_transaction_id
    from tracking.models import Click
    from workspaces.models import Workspace

    run = secrets.token_hex(4)
    ws = Workspace.objects.create(slug=f"profile-{run}", name=f"Profile {run}")
    conn = NetworkConnection.objects.create(workspace=ws, kind="impact", label="Impact")
    offer = Offer.objects.create(
        workspace=ws,
        name="Profile offer",
        connection=conn,
        payout_type="percent",
        payout_percent=10,
        offer_url="https://brand.sjv.io/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}",
    )
    member = Member.objects.create(workspace=ws, name="Profile member")
    link = Link.objects.create(workspace=ws, offer=offer, member=member)
    per_path = WARM_UP + requests * (rounds + 2)  # the last two shares for the profiles
    # Click ids as the redirect mints them: 32 hex digits, the first four naming this month.
    month = mint_transaction_id(timezone.now())[:4]
    with connection.cursor() as cursor:
        for tag in ("a", "c"):
            cursor.execute(
                "INSERT INTO tracking_click (transaction_id, created_at, ip_hash, user_agent, referrer, sub1, sub2,"
                " sub3, sub4, sub5, is_unique, is_bot, offer_state, destination, link_id, member_id, offer_id,"
                " workspace_id) SELECT %s || lpad(to_hex(n), 19, '0'), now(), '', '', '', '', '', '', '', '',"
                " true, false, 'active', '', %s, %s, %s, %s FROM generate_series(0, %s) n",
                [f"{month}{run}{tag}", link.pk, member.pk, offer.pk, ws.pk, per_path],
            )
        cursor.execute("ANALYZE")
    Click.objects.create(workspace=ws, transaction_id=f"{run}dup", link=link, offer=offer, member=member)
    return {"run": run, "month": month, "workspace": ws.pk, "secret": conn.postback_secret, "code": link.code}


def environ_for(world: dict, path: str, n: int) -> dict:
    """The WSGI environ of request ``n`` on ``path``, as granian hands it to the application."""
    run, secret = world["run"], world["secret"]
    minted = f"{world['month']}{run}"  # + "a" (attributed) or "c" (pixel) + n in 19 hex digits
    hit = "&amount=21.99&payout=0.88&status=PENDING&currency=USD&event_date=" + EVENT_DATE
    if path == "click":
        target, query = f"/c/{world['code']}", ""
    elif path == "attributed":
        target, query = f"/postback/impact/{secret}", f"subid1={minted}a{n:019x}&action_id=1000.{run}.a{n}" + hit
    elif path == "unattributed":
        target, query = f"/postback/impact/{secret}", f"subid1={run}u{n}&action_id=1000.{run}.u{n}" + hit
    elif path == "duplicate":
        target, query = f"/postback/impact/{secret}", f"subid1={run}dup&action_id=1000.{run}.dup" + hit
    else:
        target, query = f"/pixel/{secret}.gif", f"subid1={minted}c{n:019x}&action_id=1000.{run}.p{n}" + hit
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": target,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": common.BROWSER_UA if path in ("click", "pixel") else "Impact-Postback/1.0",
        "HTTP_ACCEPT": "*/*",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


EXPECTED = {
    "click": ("302", b""),
    "attributed": ("200", b"accepted"),
    "unattributed": ("200", b"unattributed"),
    "duplicate": ("200", b"duplicate"),
    "pixel": ("200", None),
}


def call(app, environ: dict) -> tuple[str, bytes]:
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = status

    body = b"".join(app(environ, start_response))
    return answer["status"][:3], body


def drive(app, world: dict, path: str, first: int, count: int, answered: Counter) -> None:
    """Requests ``first`` .. ``first + count - 1`` on ``path``; raises on an unexpected answer."""
    status_wanted, body_wanted = EXPECTED[path]
    environs = [environ_for(world, path, n) for n in range(first, first + count)]
    for environ in environs:
        status, body = call(app, environ)
        if status != status_wanted or (body_wanted is not None and body != body_wanted):
            raise common.BenchError(f"{path}: answered {status} {body[:200]!r}, expected {status_wanted}")
        answered[path] += 1


def measure(app, world: dict, path: str, first: int, count: int, counts: Counts, answered: Counter) -> dict:
    import gc

    counts.counter.clear()
    gc.collect()
    counts.active = True
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    with common.cpu_meter() as servers:
        drive(app, world, path, first, count, answered)
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started_wall
    counts.active = False
    return {
        "cpu_us": cpu / count * 1e6,
        "wall_us": wall / count * 1e6,
        "postgresql_us": servers.used_us.get("postgresql", 0.0) / count,
        "redis_us": servers.used_us.get("redis", 0.0) / count,
        **{key: counts.counter[key] / count for key in ("sql", "redis", "pool")},
    }


def profile(app, world: dict, path: str, first: int, count: int, directory: Path, answered: Counter) -> list[Path]:
    """Profile ``count`` requests on ``path`` twice: cProfile on CPU time, pyinstrument on wall time (if installed).

    Returns the files written: <path>.cpu.txt (cProfile, by own and by cumulative time), and
    <path>.wall.txt / .html (pyinstrument's call tree, which shows the waits on PostgreSQL).
    """
    import cProfile
    import pstats

    directory.mkdir(parents=True, exist_ok=True)
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(drive, app, world, path, first, count, answered)
    written = [directory / f"{path}.cpu.txt"]
    with written[0].open("w") as out:
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(80)
    try:
        from pyinstrument import Profiler
    except ImportError:
        return written
    sampler = Profiler(interval=0.0001)
    sampler.start()
    drive(app, world, path, first + count, count, answered)
    sampler.stop()
    written += [directory / f"{path}.wall.txt", directory / f"{path}.wall.html"]
    written[1].write_text(sampler.output_text(unicode=True, show_all=True))
    written[2].write_text(sampler.output_html())
    return written


def check_stored(world: dict, answered: Counter) -> dict:
    """Drain the click buffer; every 302 is one click, every accepted hit one conversion."""
    from tracking.clicks.buffer import drain_click_buffer
    from tracking.models import Click, Conversion, PostbackLog

    while drain_click_buffer():
        pass
    ws = world["workspace"]
    seeded = Click.objects.filter(workspace_id=ws, user_agent="").count()
    clicks = Click.objects.filter(workspace_id=ws).count() - seeded
    outcomes = Counter(
        PostbackLog.objects.filter(workspace_id=ws).values_list("is_pixel", "outcome").iterator(chunk_size=5000)
    )
    found = {
        "clicks": clicks,
        "conversions": Conversion.objects.filter(workspace_id=ws).count(),
        "accepted": outcomes[(False, "accepted")],
        "unattributed": outcomes[(False, "unattributed")],
        "duplicate": outcomes[(False, "duplicate")],
        "pixel": outcomes[(True, "accepted")],
    }
    wanted = {
        "clicks": answered["click"],
        # And the duplicates' conversion, stored by the postback they repeat.
        "conversions": answered["attributed"] + answered["unattributed"] + answered["pixel"] + 1,
        "accepted": answered["attributed"] + 1,
        "unattributed": answered["unattributed"],
        "duplicate": answered["duplicate"],
        "pixel": answered["pixel"],
    }
    if found != wanted:
        raise common.BenchError(f"stored {found}, answered {wanted}")
    return found


def print_table(results: dict[str, dict]) -> None:
    print(
        f"{'path':<24} {'CPU µs/req':>10} {'wall µs/req':>11} {'PG µs/req':>9} {'Redis µs/req':>12} "
        f"{'SQL/req':>8} {'Redis/req':>9} {'pool/req':>8}"
    )
    for path, row in results.items():
        print(
            f"{path:<24} {row['cpu_us']:>10.0f} {row['wall_us']:>11.0f} {row['postgresql_us']:>9.0f} "
            f"{row['redis_us']:>12.0f} {row['sql']:>8.2f} {row['redis']:>9.2f} {row['pool']:>8.2f}"
        )


def main(argv: list[str]) -> int:
    requests = _option(argv, "requests", 300)
    rounds = _option(argv, "rounds", 10)
    chosen = [p for p in _option(argv, "paths", ",".join(PATHS)).split(",") if p]
    profile_dir = _option(argv, "profile", "")
    unknown = set(chosen) - set(PATHS)
    if unknown:
        print("unknown paths:", sorted(unknown), "- known:", PATHS)
        return 2
    _configure()
    from django.core.management import call_command

    from config.wsgi import application

    call_command("migrate", interactive=False, verbosity=0)
    world = seed(requests, rounds)
    counts = Counts()
    counts.install()
    answered: Counter = Counter()
    next_request = Counter()
    results: dict[str, dict] = {}
    if "duplicate" in chosen:
        # The conversion the duplicates repeat.
        status, body = call(application, environ_for(world, "duplicate", 0))
        if (status, body) != ("200", b"accepted"):
            raise common.BenchError(f"the first postback of the duplicates answered {status} {body[:200]!r}")
    for path in chosen:
        drive(application, world, path, 0, WARM_UP, answered)
        next_request[path] = WARM_UP
    samples: dict[str, list[dict]] = {path: [] for path in chosen}
    for _ in range(rounds):
        for path in chosen:
            samples[path].append(measure(application, world, path, next_request[path], requests, counts, answered))
            next_request[path] += requests
    for path in chosen:
        results[path] = {key: min(s[key] for s in samples[path]) for key in samples[path][0]}
    print(
        f"{requests} requests per path, best of {rounds} rounds: CPU of this process, and of every"
        " PostgreSQL and Redis process (clock ticks: a few percent either way)"
    )
    print_table(results)
    if profile_dir:
        for path in chosen:
            written = profile(application, world, path, next_request[path], requests, Path(profile_dir), answered)
            print(f"profiles of {path}:", ", ".join(str(target) for target in written))
    if set(chosen) == set(PATHS):
        print("stored:", check_stored(world, answered))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
