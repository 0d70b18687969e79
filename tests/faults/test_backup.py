"""A backup and restore round trip with the commands the README gives (pg_dump, pg_restore).

The restored database must pass checkledger and show the same report totals, ledger
balances and conversions as the original.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.faults.servers import django_json, manage

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

# Conversions through the postback pipeline, half of them approved, their ledger postings and the rollups.
HISTORY = """
import json
from payments.services import process_conversion_events_all_workspaces
from reports.rollups import rebuild_rollups_all_workspaces
from tracking.ingest import Hit, postback_outcome
def hit(query):
    return Hit(method="GET", query=query, body=b"", content_type="", source_ip="192.0.2.1")
for i in range(20):
    query = f"subid1=fault{i}&action_id=3.{i}&amount={10 + i}.50&payout=1.00&currency=USD"
    postback_outcome(hit(query), "impact", %(secret)r)
for i in range(10):
    postback_outcome(hit(f"subid1=fault{i}&action_id=3.{i}&status=approved"), "impact", %(secret)r)
while process_conversion_events_all_workspaces(limit=500):
    pass
rebuild_rollups_all_workspaces()
print(json.dumps(True))
"""

TOTALS = (
    "SELECT grain, status, currency, sum(clicks), sum(conversions), sum(sales), sum(network_payout), "
    "sum(member_payout) FROM reports_dailyrollup GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    "SELECT kind, currency, member_id, connection_id, balance FROM payments_account ORDER BY 1, 2, 3, 4",
    "SELECT external_id, status, sale_amount, member_payout FROM tracking_conversion ORDER BY 1",
    "SELECT count(*), sum(amount) FROM payments_entry",
)


def test_a_pg_dump_and_pg_restore_round_trip_keeps_the_ledger_clean_and_the_totals_equal(hub, tmp_path):
    env = hub.env()
    world = hub.seed(env, clicks=20)
    django_json(env, HISTORY % {"secret": world["secret"]})
    before = [hub.sql(query) for query in TOTALS]
    assert len(before[2]) == 20 and before[3][0][0] > 0

    dump = tmp_path / "hub.dump"
    bin_dir = hub.postgres.bin
    subprocess.run([bin_dir / "pg_dump", "--format=custom", f"--file={dump}", env["DATABASE_URL"]], check=True)
    restored = f"{hub.name}_restored"
    hub.postgres.execute(f"CREATE DATABASE {restored}")
    try:
        url = hub.postgres.url(restored)
        subprocess.run([bin_dir / "pg_restore", "--no-owner", f"--dbname={url}", dump], check=True)
        manage({**env, "DATABASE_URL": url}, "checkledger")
        after = [hub.postgres.execute(query, restored) for query in TOTALS]
    finally:
        hub.postgres.execute(f"DROP DATABASE IF EXISTS {restored} WITH (FORCE)")
    assert after == before
