"""Reports from a real streaming replica: reads go there, writes never do, and pages say how far behind it is.

The replica is made from the throwaway cluster with pg_basebackup and follows it by
streaming replication. Pausing its replay makes it lag for real.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import wait_for
from tests.faults.servers import django_json

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

OWNER = """
import json
from django.contrib.auth import get_user_model
from workspaces.models import ApiKey, Membership, Role, Workspace
ws = Workspace.objects.get(slug="faults")
user = get_user_model().objects.create_user(username="owner@faults.test", email="owner@faults.test")
Membership.objects.create(workspace=ws, user=user, role=Role.OWNER)
key, raw = ApiKey.make(workspace=ws, name="reports", created_by=user)
print(json.dumps(raw))
"""

CONVERT = """
import json
from reports.rollups import rebuild_rollups_all_workspaces
from tracking.ingest import Hit, postback_outcome
for i in range(%(first)d, %(last)d):
    hit = Hit(method="GET", query=f"subid1=fault{i}&action_id=8.{i}&amount=10.00", body=b"", content_type="",
              source_ip="192.0.2.1")
    postback_outcome(hit, "impact", %(secret)r)
rebuild_rollups_all_workspaces()
print(json.dumps(True))
"""

READ = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
from config.db_router import replica_reads
from workspaces.models import Workspace
client = Client()
summary = client.get("/api/v1/reports/summary/", HTTP_AUTHORIZATION="Bearer %(key)s").json()
client.force_login(get_user_model().objects.get(email="owner@faults.test"))
page = client.get("/dashboard/").content.decode()
# A write while reads go to the replica still goes to the primary (the replica would refuse it).
with replica_reads():
    Workspace.objects.filter(slug="faults").update(name="Faults %(name)s")
print(json.dumps({"conversions": summary["current"]["conversions"], "page": page}))
"""


def test_reports_read_from_a_streaming_replica_and_say_how_far_behind_it_is(hub):
    env = hub.env()
    world = hub.seed(env, clicks=10)
    key = django_json(env, OWNER)
    replica = hub.postgres.start_replica()
    try:
        replica_env = hub.env(DATABASE_REPLICA_URL=replica.url(hub.name))

        def caught_up() -> bool:
            sent = hub.postgres.execute("SELECT pg_current_wal_lsn()")[0][0]
            return replica.execute(f"SELECT pg_last_wal_replay_lsn() >= '{sent}'::pg_lsn")[0][0]

        def read(name: str) -> tuple[int, str]:
            result = django_json(replica_env, READ % {"key": key, "name": name})
            lag = re.search(r"figures read from a replica (\d+) s behind", result["page"])
            assert lag, "the dashboard does not say it reads from a replica"
            assert hub.value("SELECT name FROM workspaces_workspace WHERE slug = 'faults'") == f"Faults {name}"
            return result["conversions"], int(lag.group(1))

        django_json(env, CONVERT % {"first": 0, "last": 5, "secret": world["secret"]})
        assert wait_for(caught_up, timeout=20)
        assert read("one") == (5, 0)

        replica.execute("SELECT pg_wal_replay_pause()")
        django_json(env, CONVERT % {"first": 5, "last": 10, "secret": world["secret"]})
        time.sleep(1.5)
        conversions, lag = read("two")
        # The replica has not replayed the new conversions; the page says it is behind.
        assert conversions == 5 and lag >= 1
        assert hub.value("SELECT count(*) FROM tracking_conversion") == 10

        replica.execute("SELECT pg_wal_replay_resume()")
        assert wait_for(caught_up, timeout=20)
        assert read("three") == (10, 0)
    finally:
        replica.destroy()
