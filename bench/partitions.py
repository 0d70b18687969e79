"""Monthly partitions: what migrating an existing click table costs, and what dropping months saves.

Two throwaway databases get the same clicks (BENCH_PARTITION_CLICKS, 1,000,000 by default,
spread evenly over two years, generated in SQL) while tracking is at migration 0014 (plain
tables). One is then partitioned by ``migrate tracking 0015`` (timed); ``manage.py prune``
with the default click retention (400 days) is timed on both: on the partitioned one it drops
whole months, on the plain one it deletes rows.

    make bench ARGS="partitions"
    BENCH_PARTITION_CLICKS=200000 make bench ARGS="partitions"   # smaller, for a quick look
"""

from __future__ import annotations

import os
import time

from bench.common import create_database, drop_database, manage

TITLE = "Partitions: migrating a click table to monthly partitions, and pruning by month vs by row"

SEED = """
from decimal import Decimal
from offers.models import Link, Member, NetworkConnection, Offer
from workspaces.models import Workspace
ws = Workspace.objects.create(slug="bench", name="Bench")
conn = NetworkConnection.objects.create(workspace=ws, kind="impact", label="Impact")
offer = Offer.objects.create(workspace=ws, name="Bench", connection=conn, payout_type="percent",
                             payout_percent=Decimal("10"), offer_url="https://shop.example/?t={transaction_id}")
member = Member.objects.create(workspace=ws, name="Bench member")
Link.objects.create(workspace=ws, offer=offer, member=member)
"""

CLICKS = """
INSERT INTO tracking_click (workspace_id, transaction_id, link_id, offer_id, member_id, created_at, ip_hash,
    user_agent, referrer, sub1, sub2, sub3, sub4, sub5, is_unique, is_bot, offer_state, destination)
SELECT w.id, md5(g::text), l.id, l.offer_id, l.member_id,
       now() - (g %% 730) * interval '1 day' - (g %% 86400) * interval '1 second',
       md5((g %% 5000)::text), 'Mozilla/5.0 (X11; Linux x86_64)', 'https://instagram.com/', 'ig', '', '', '', '',
       g %% 3 = 0, false, 'active', 'https://shop.example/?t=' || md5(g::text)
FROM generate_series(1, %s) g, workspaces_workspace w JOIN offers_link l ON l.workspace_id = w.id
"""


def _env(url: str) -> dict:
    env = dict(os.environ, DATABASE_URL=url, DEBUG="true", LOG_LEVEL="WARNING")
    env.pop("REDIS_URL", None)
    return env


def _prepare(name: str, clicks: int) -> dict:
    import psycopg

    env = _env(create_database(name))
    manage(env, "migrate", "tracking", "0014", "--noinput", timeout=600)
    manage(env, "shell", "-c", SEED)
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(CLICKS, [clicks])
        conn.execute("VACUUM ANALYZE tracking_click")
    return env


def _timed(env: dict, *args: str) -> tuple[float, str]:
    started = time.monotonic()
    out = manage(env, *args, timeout=3600)
    return time.monotonic() - started, out.strip()


def run(argv) -> dict:
    clicks = int(os.environ.get("BENCH_PARTITION_CLICKS", "1000000"))
    names = [f"bench_partitions_{os.getpid()}_{kind}" for kind in ("parted", "plain")]
    try:
        print(f"seeding {clicks:,} clicks over two years in two databases ...", flush=True)
        parted, plain = (_prepare(name, clicks) for name in names)
        load = os.getloadavg()[0]
        migrate_s, _ = _timed(parted, "migrate", "tracking", "0015", "--noinput")
        print(f"migrate tracking 0015 (partition {clicks:,} clicks): {migrate_s:.1f} s", flush=True)
        prune_parted_s, parted_out = _timed(parted, "prune", "--days", "0")
        print(f"prune, partitioned: {prune_parted_s:.1f} s  {parted_out.splitlines()[-1]}", flush=True)
        prune_plain_s, plain_out = _timed(plain, "prune", "--days", "0")
        print(f"prune, plain table: {prune_plain_s:.1f} s  {plain_out.splitlines()[-1]}", flush=True)
        return {
            "clicks": clicks,
            "load_average_at_start": round(load, 1),
            "migrate_s": round(migrate_s, 1),
            "prune_partitioned_s": round(prune_parted_s, 1),
            "prune_plain_s": round(prune_plain_s, 1),
        }
    finally:
        for name in names:
            drop_database(name)
