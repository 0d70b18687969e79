"""The hub behind PgBouncer in transaction mode, as docker-compose.yml's scale profile runs it:
the shipped deploy/pgbouncer.ini, pointed at the throwaway cluster (tests/faults/servers.py).

The app's own pool is off (DB_POOL_MAX_SIZE=0) and so are prepared statements (Debian's
PgBouncer is older than 1.21); PgBouncer holds at most 5 server connections whatever the
load. A storm of different and identical postbacks and of clicks from 40 threads: every
2xx or 3xx is stored exactly once, nothing answers 500, PostgreSQL never sees more than
PgBouncer's pool, and the ledger checks clean.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.faults.servers import PGBOUNCER, ThrowawayPgBouncer, manage, peak_connections, start_web, storm

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

QUERY = "subid1={tid}&action_id={action}&amount=20.00&payout=2.00&currency=USD&status=pending"


@pytest.fixture
def pgbouncer(hub):
    if not os.access(PGBOUNCER, os.X_OK):
        pytest.skip("pgbouncer not found (apt-get install pgbouncer)")
    bouncer = ThrowawayPgBouncer(Path(tempfile.mkdtemp(prefix="hub-faults-pgbouncer-")), hub.postgres, pool_size=5)
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.destroy()
        shutil.rmtree(bouncer.folder, ignore_errors=True)


def test_postbacks_and_clicks_through_pgbouncer_in_transaction_mode_are_stored_once(hub, pgbouncer):
    assert "pool_mode = transaction" in (pgbouncer.folder / "pgbouncer.ini").read_text()
    env = hub.env(DB_POOL_MAX_SIZE="0", DB_PREPARE_THRESHOLD="", CLICK_BUFFER="direct")
    env["DATABASE_URL"] = pgbouncer.url(hub.name)
    count = 120
    world = hub.seed(env, clicks=count)
    web, url = start_web(env, hub.folder)
    base = f"{url}/postback/impact/{world['secret']}?"
    postbacks = [base + QUERY.format(tid=f"fault{i}", action=f"5.{i}") for i in range(count)]
    identical = [base + QUERY.format(tid="fault0", action="5.0")] * 200
    clicks = [f"{url}/c/{world['code']}?sub1=b{i}" for i in range(200)]
    try:
        with peak_connections(hub.postgres, hub.name) as peak:
            results = storm(postbacks + identical + clicks, threads=40)
    finally:
        web.stop()
    statuses = [status for status, _, _ in results]
    assert None not in statuses, "a request got no answer"
    assert 500 not in statuses, web.output()[-3000:]
    pb = results[: count + 200]
    assert {status for status, _, _ in pb} <= {200, 503}
    assert [status for status, _, _ in results[count + 200 :]] == [302] * 200
    manage(env, "replayspool")
    assert hub.value("SELECT count(*) FROM tracking_conversion") == count
    assert hub.value("SELECT count(*) FROM tracking_conversionevent") == count
    assert hub.value("SELECT count(*) FROM tracking_click WHERE sub1 LIKE 'b%'") == 200
    # PostgreSQL saw PgBouncer's pool (5), not one connection per thread or request.
    assert peak[0] <= 5
    hub.check_ledger(env)
