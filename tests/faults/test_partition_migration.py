"""The migration path of an existing database to monthly partitions, and back.

A database at tracking 0013 (plain tables) gets clicks spread over fourteen months,
conversions through the postback pipeline and their ledger postings; then `migrate`
partitions the tables. Every row is still there under its id, the conversions still point
at their clicks, new hits are stored, the ledger checks clean and its balances are the same.
Migrating back to 0014 gives plain tables with the same rows.
"""

from __future__ import annotations

import pytest

from tests.faults.servers import django_json, manage

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

TABLES = ("tracking_click", "tracking_postbacklog", "tracking_conversionevent")

HISTORY = """
import json
from datetime import timedelta
from django.utils import timezone
from payments.services import process_conversion_events_all_workspaces
from tracking.ingest import Hit, postback_outcome
from tracking.models import Click, PostbackLog
def hit(query):
    return Hit(method="GET", query=query, body=b"", content_type="", source_ip="192.0.2.1")
# fault{i} is i months old: fourteen months of clicks, a few of them converted.
for i in range(14):
    Click.objects.filter(transaction_id=f"fault{i}").update(created_at=timezone.now() - timedelta(days=31 * i))
for i in range(0, 14, 2):
    postback_outcome(hit(f"subid1=fault{i}&action_id=7.{i}&amount={10 + i}.50&currency=USD"), "impact", %(secret)r)
postback_outcome(hit("subid1=fault2&action_id=7.2&status=approved"), "impact", %(secret)r)
PostbackLog.objects.filter(params__action_id="7.12").update(received_at=timezone.now() - timedelta(days=300))
while process_conversion_events_all_workspaces(limit=500):
    pass
print(json.dumps(True))
"""

AFTER = """
import json
from tracking.ingest import Hit, postback_outcome
from tracking.models import Click, Conversion
hit = Hit(method="GET", query="subid1=fault13&action_id=8.13&amount=3.00&currency=USD", body=b"",
          content_type="", source_ip="192.0.2.1")
status, _ = postback_outcome(hit, "impact", %(secret)r)
again, _ = postback_outcome(hit, "impact", %(secret)r)
pairs = sorted((c.external_id, c.click.transaction_id) for c in Conversion.objects.select_related("click"))
print(json.dumps({"status": status, "again": again, "pairs": pairs, "clicks": Click.objects.count()}))
"""

SNAPSHOT = (
    "SELECT id, transaction_id, created_at FROM tracking_click ORDER BY id",
    "SELECT id, code, received_at, outcome, conversion_id FROM tracking_postbacklog ORDER BY id",
    "SELECT id, conversion_id, kind, processed_at FROM tracking_conversionevent ORDER BY id",
    "SELECT kind, currency, member_id, connection_id, balance FROM payments_account ORDER BY 1, 2, 3, 4",
)


def kinds(hub) -> dict[str, str]:
    rows = hub.sql(
        "SELECT relname, relkind FROM pg_class WHERE relname IN ('tracking_click', 'tracking_postbacklog', "
        "'tracking_conversionevent')"
    )
    return dict(rows)


def test_an_existing_database_is_partitioned_by_migrate_with_every_row_kept_and_back(hub):
    env = hub.env()
    # The template is fully migrated: take this database back to before partitioning, as it was.
    manage(env, "migrate", "tracking", "0013", "--noinput", timeout=180)
    assert kinds(hub) == dict.fromkeys(TABLES, "r")
    world = hub.seed(env, clicks=14)
    django_json(env, HISTORY % {"secret": world["secret"]})
    before = [hub.sql(query) for query in SNAPSHOT]
    assert len(before[0]) == 14 and len(before[1]) == 8

    manage(env, "migrate", "--noinput", timeout=180)

    assert kinds(hub) == dict.fromkeys(TABLES, "p")
    assert [hub.sql(query) for query in SNAPSHOT] == before
    # A month partition for each month that has rows (and three ahead), plus a default one.
    months = hub.value(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'tracking_click'::regclass "
        "AND inhrelid::regclass::text LIKE 'tracking_click_p%'"
    )
    assert months >= 14 + 3
    assert hub.value("SELECT count(*) FROM tracking_click_default") == 0
    # The keys carry the month; the foreign keys into the tables are the application's.
    assert hub.value("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'click_transaction_id'") == (
        "UNIQUE (transaction_id, created_at)"
    )
    assert (
        hub.value(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND confrelid = ANY("
            "ARRAY['tracking_click', 'tracking_postbacklog', 'tracking_conversionevent']::regclass[])"
        )
        == 0
    )
    # New rows get fresh ids after the copied ones, and the hub works on the new tables.
    after = django_json(env, AFTER % {"secret": world["secret"]})
    assert (after["status"], after["again"]) == (200, 200)
    assert after["clicks"] == 14
    assert ["7.0", "fault0"] in after["pairs"] and ["8.13", "fault13"] in after["pairs"]
    assert hub.value("SELECT min(id) FROM tracking_postbacklog WHERE params->>'action_id' = '8.13'") > max(
        row[0] for row in before[1]
    )
    hub.check_ledger(env)

    manage(env, "migrate", "tracking", "0014", "--noinput", timeout=180)

    assert kinds(hub) == dict.fromkeys(TABLES, "r")
    assert hub.sql(SNAPSHOT[0]) == before[0]
    assert len(hub.sql(SNAPSHOT[1])) == len(before[1]) + 2
    assert hub.value("SELECT count(*) FROM pg_class WHERE relname LIKE 'tracking_click_p2%'") == 0
