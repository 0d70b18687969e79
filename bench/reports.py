"""Report speed at scale: 5,000,000 clicks and 200,000 conversions in one workspace.

Runs in a throwaway PostgreSQL database (created and dropped here, on the server
of DATABASE_URL or the local default). Rows are generated in SQL with
INSERT ... SELECT generate_series, the rollups are built, then the dashboard and
the by-member report are timed through Django's test client over 30 and 90 days.

    make bench ARGS="reports"                # full size
    BENCH_REPORT_CLICKS=500000 make bench ARGS="reports"   # smaller, for a quick look
    BENCH_REPORT_KEEP=1 ...                  # keep the database to look at query plans
"""

import json
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

TITLE = "Reports: dashboard, by-member and top-paths reports over 5M clicks / 200k conversions"
TARGET_MS = 300
# Top paths reads raw clicks of each conversion's visitor (not rollups): its target is a second.
PATHS_TARGET_MS = 1000


def target_of(key: str) -> int:
    return PATHS_TARGET_MS if key.startswith("top_paths") else TARGET_MS


DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else DEFAULT_SERVER


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def run(argv) -> dict:
    import psycopg

    server = _server_url()
    name = f"bench_reports_{os.getpid()}"
    admin = _with_db(server, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = dict(os.environ, DATABASE_URL=_with_db(server, name), CONN_MAX_AGE="0", DEBUG="true", LOG_LEVEL="WARNING")
    env.pop("REDIS_URL", None)  # the figures must not depend on a warm cache
    try:
        # Progress lines are shown as they come; the last line is the JSON result.
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.reports", "--inner"], env=env, stdout=subprocess.PIPE, text=True
        )
        last = ""
        for line in proc.stdout:
            if last:
                print(last, end="", flush=True)
            last = line
        code = proc.wait(timeout=3600)
        if code != 0 or not last.startswith("{"):
            if last:
                print(last, end="", flush=True)
            return {"error": f"benchmark process failed (exit {code})"}
        return json.loads(last)
    finally:
        if os.environ.get("BENCH_REPORT_KEEP"):
            print(f"  kept the database {name} (BENCH_REPORT_KEEP is set; drop it when done)")
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- inside the throwaway database ------------------------------------------------


def _say(msg: str) -> None:
    print(msg, flush=True)


def _literal_defaults(model, given: set[str]) -> tuple[list[str], list]:
    """Columns of ``model`` not in ``given`` and their Python defaults, so the INSERTs
    keep working when a NOT NULL column with a default is added to the model."""
    from django.db import connection

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.column in given or field.primary_key:
            continue
        columns.append(field.column)
        values.append(field.get_db_prep_save(field.get_default(), connection))
    return columns, values


def _generate(clicks: int, conversions: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from offers.models import Link, Member, NetworkConnection, Offer, Project
    from tracking.models import Click, Conversion
    from workspaces.models import Membership, Workspace

    user = get_user_model().objects.create_user(username="bench@x.test", email="bench@x.test", password="x" * 20)
    ws = Workspace.objects.create(name="Bench", slug="bench")
    Membership.objects.create(workspace=ws, user=user, role="owner")
    conns = [
        NetworkConnection.objects.create(workspace=ws, kind="impact", label="Impact"),
        NetworkConnection.objects.create(workspace=ws, kind="shareasale", label="ShareASale"),
    ]
    projects = Project.objects.bulk_create([Project(workspace=ws, name=f"Project {i}") for i in range(10)])
    members = Member.objects.bulk_create(
        [Member(workspace=ws, name=f"Member {i:04d}", project=projects[i % 10]) for i in range(1000)]
    )
    offers = Offer.objects.bulk_create(
        [
            Offer(
                workspace=ws,
                name=f"Offer {i:02d}",
                offer_url="https://shop.test/?t={transaction_id}",
                connection=conns[i % 2],
            )
            for i in range(20)
        ]
    )
    Link.objects.bulk_create(
        [Link(workspace=ws, offer=offers[(i * 7 + k) % 20], member=m) for i, m in enumerate(members) for k in range(3)]
    )

    click_cols = {
        "workspace_id": "%(ws)s",
        "transaction_id": "md5(g::text || 'c')",
        "link_id": "l.id",
        "offer_id": "l.offer_id",
        "member_id": "l.member_id",
        # Spread evenly over 120 days in id order (ids follow time, as in production).
        "created_at": "now() - interval '120 days' + (g::float8 / %(clicks)s) * interval '120 days' "
        "- random() * interval '10 minutes'",
        "ip_hash": "md5((g %% 700000)::text)",
        "is_unique": "(g %% 5 <> 0)",
        "is_bot": "(g %% 40 = 0)",
        "offer_state": "CASE WHEN g %% 97 = 0 THEN 'paused' ELSE 'active' END",
    }
    extra_cols, extra_vals = _literal_defaults(Click, set(click_cols))
    started = time.monotonic()
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE bench_links AS "
            "SELECT (row_number() OVER (ORDER BY id)) - 1 AS n, id, offer_id, member_id FROM offers_link"
        )
        cur.execute("CREATE INDEX ON bench_links (n)")
        placeholders = ", ".join(["%(x" + str(i) + ")s" for i in range(len(extra_vals))])
        params = {"ws": ws.id, "clicks": clicks, **{f"x{i}": v for i, v in enumerate(extra_vals)}}
        cur.execute(
            f"INSERT INTO tracking_click ({', '.join([*click_cols, *extra_cols])}) "
            f"SELECT {', '.join(click_cols.values())}{', ' if extra_cols else ''}{placeholders} "
            "FROM generate_series(1, %(clicks)s) g JOIN bench_links l ON l.n = g %% 3000 ORDER BY g",
            params,
        )
    click_s = time.monotonic() - started
    _say(f"  {clicks:,} clicks inserted in {click_s:.0f} s")

    # Every step-th click converts (a few more than needed: bot clicks are skipped, LIMIT trims).
    step = max(int(clicks / conversions * 0.92), 1)
    conv_cols = {
        "created_at": "now()",
        "updated_at": "now()",
        "workspace_id": "%(ws)s",
        "code": "gen_random_uuid()",
        "connection_id": "o.connection_id",
        "network": "'impact'",
        "dedupe_key": "'bench:' || c.id",
        "transaction_id": "c.transaction_id",
        "external_id": "'A' || c.id",
        "click_id": "c.id",
        "offer_id": "c.offer_id",
        "member_id": "c.member_id",
        "single_per_transaction": "true",
        "status": "CASE WHEN c.id %% 10 < 6 THEN 'approved' WHEN c.id %% 10 < 9 THEN 'pending' ELSE 'reversed' END",
        "source": "'postback'",
        "currency": "'USD'",
        "sale_amount": "round((20 + (c.id %% 180))::numeric, 2)",
        "network_payout": "round((20 + (c.id %% 180))::numeric * 0.10, 2)",
        "member_payout": "round((20 + (c.id %% 180))::numeric * 0.05, 2)",
        "event_at": "c.created_at + (c.id %% 72) * interval '1 hour'",
    }
    extra_cols, extra_vals = _literal_defaults(Conversion, set(conv_cols))
    started = time.monotonic()
    with connection.cursor() as cur:
        placeholders = ", ".join(["%(x" + str(i) + ")s" for i in range(len(extra_vals))])
        params = {"ws": ws.id, "step": step, "n": conversions, **{f"x{i}": v for i, v in enumerate(extra_vals)}}
        cur.execute(
            f"INSERT INTO tracking_conversion ({', '.join([*conv_cols, *extra_cols])}) "
            f"SELECT {', '.join(conv_cols.values())}{', ' if extra_cols else ''}{placeholders} "
            "FROM tracking_click c JOIN offers_offer o ON o.id = c.offer_id "
            "WHERE c.workspace_id = %(ws)s AND c.id %% %(step)s = 0 AND NOT c.is_bot LIMIT %(n)s",
            params,
        )
        cur.execute("ANALYZE")
    conv_s = time.monotonic() - started
    n_conv = Conversion.objects.filter(workspace=ws).count()
    _say(f"  {n_conv:,} conversions inserted in {conv_s:.0f} s")
    return {
        "workspace": ws,
        "user": user,
        "insert_clicks_s": round(click_s, 1),
        "insert_conversions_s": round(conv_s, 1),
        "conversions": n_conv,
    }


def _time(client, url: str, runs: int = 7) -> dict:
    client.get(url)  # warm: template loading, connection, plan cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def inner() -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from reports.models import DailyRollup
    from reports.rollups import rebuild_rollups_all_workspaces, refresh_rollups_all_workspaces

    clicks = int(os.environ.get("BENCH_REPORT_CLICKS", 5_000_000))
    conversions = int(os.environ.get("BENCH_REPORT_CONVERSIONS", clicks // 25))
    _say("  migrating the throwaway database ...")
    call_command("migrate", verbosity=0)
    world = _generate(clicks, conversions)
    ws = world["workspace"]

    started = time.monotonic()
    _, days, rows = rebuild_rollups_all_workspaces()
    rebuild_s = time.monotonic() - started
    with connection.cursor() as cur:
        cur.execute("ANALYZE reports_dailyrollup")
    _say(f"  rollups rebuilt: {days} days, {rows:,} rows in {rebuild_s:.0f} s")

    # An incremental refresh after 10,000 new clicks today.
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO tracking_click (workspace_id, transaction_id, link_id, offer_id, member_id, created_at, "
            "ip_hash, user_agent, referrer, sub1, sub2, sub3, sub4, sub5, is_unique, is_bot, offer_state, destination) "
            "SELECT workspace_id, md5(transaction_id || 'n'), link_id, offer_id, member_id, now(), ip_hash, '', '', "
            "'', '', '', '', '', is_unique, is_bot, offer_state, '' FROM tracking_click WHERE id <= 10000"
        )
    started = time.monotonic()
    touched = refresh_rollups_all_workspaces()
    refresh_ms = (time.monotonic() - started) * 1000
    _say(f"  incremental refresh after 10,000 new clicks: {touched} day(s) in {refresh_ms:.0f} ms")

    setup_test_environment()
    client = Client()
    client.force_login(world["user"])
    timings = {}
    for label, preset in (("30d", "30d"), ("90d", "90d")):
        timings[f"dashboard_{label}"] = _time(client, f"/dashboard/?preset={preset}")
        timings[f"by_member_{label}"] = _time(client, f"/reports/members/?preset={preset}")
        timings[f"top_paths_{label}"] = _time(client, f"/reports/paths/?preset={preset}")
    for key, t in timings.items():
        verdict = "ok" if t["median_ms"] < target_of(key) else f"over the {target_of(key)} ms target"
        _say(f"  {key:<16} median {t['median_ms']:>7.1f} ms  max {t['max_ms']:>7.1f} ms  ({verdict})")
    return {
        "clicks": clicks,
        "conversions": world["conversions"],
        "insert_clicks_s": world["insert_clicks_s"],
        "insert_conversions_s": world["insert_conversions_s"],
        "rollup_rebuild_s": round(rebuild_s, 1),
        "rollup_rows": DailyRollup.objects.filter(workspace=ws).count(),
        "refresh_after_10k_clicks_ms": round(refresh_ms),
        **timings,
        "target_ms": TARGET_MS,
        "top_paths_target_ms": PATHS_TARGET_MS,
        "all_under_target": all(t["median_ms"] < target_of(key) for key, t in timings.items()),
    }


if __name__ == "__main__":
    if "--inner" in sys.argv:
        result = inner()
        print(json.dumps(result), flush=True)
    else:
        print(json.dumps(run(sys.argv[1:]), indent=2))
