"""Fixtures of the fault tests: one throwaway PostgreSQL cluster per session, a database per test.

The cluster is made once (initdb, start, one migrated template database, about 15 s);
each test gets a copy of the template (CREATE DATABASE ... TEMPLATE, well under a second)
with a small world seeded in it: a workspace, an Impact connection, an offer, a member,
a link and clicks with known transaction ids.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.faults.servers import ThrowawayPostgres, ThrowawayRedis, app_env, django_json, manage, missing_tools

TEMPLATE = "hub_template"

SEED = """
import json
from decimal import Decimal
from offers.models import Link, Member, NetworkConnection, Offer
from tracking.models import Click
from workspaces.models import Workspace
ws = Workspace.objects.create(slug="faults", name="Faults")
conn = NetworkConnection.objects.create(workspace=ws, kind="impact", label="Impact")
offer = Offer.objects.create(
    workspace=ws, name="Faults offer", connection=conn, payout_type="percent", payout_percent=Decimal("10"),
    offer_url="https://shop.example/?subId1={transaction_id}",
)
member = Member.objects.create(workspace=ws, name="Fault member")
link = Link.objects.create(workspace=ws, offer=offer, member=member)
Click.objects.bulk_create(
    [Click(workspace=ws, transaction_id=f"fault{i}", link=link, offer=offer, member=member) for i in range(%(clicks)d)]
)
print(json.dumps({"secret": conn.postback_secret, "code": link.code}))
"""


CHECK_LEDGER = """
import json
from django.core.management import call_command
from payments.services import process_conversion_events_all_workspaces
while process_conversion_events_all_workspaces(limit=500):
    pass
call_command("checkledger")
print(json.dumps(True))
"""


class Hub:
    """One test's database on the throwaway cluster, and the environment to run the app on it."""

    def __init__(self, postgres: ThrowawayPostgres, name: str, folder: Path):
        self.postgres = postgres
        self.name = name
        self.folder = folder
        self.spool = folder / "spool"

    def env(self, redis_url: str = "", **extra: str) -> dict:
        env = app_env(self.postgres.url(self.name), redis_url, self.spool, **extra)
        if not redis_url:
            env.pop("REDIS_URL")
            env["CELERY_BROKER_URL"] = "memory://"
        return env

    def seed(self, env: dict, clicks: int = 0) -> dict:
        return django_json(env, SEED % {"clicks": clicks})

    def sql(self, query: str) -> list:
        return self.postgres.execute(query, self.name)

    def value(self, query: str):
        return self.sql(query)[0][0]

    def spooled(self) -> int:
        ready = self.spool / "ready"
        return len(list(ready.glob("*.json"))) if ready.exists() else 0

    def check_ledger(self, env: dict) -> None:
        """Post every outbox event to the ledger, then verify the ledger (checkledger fails on a violation)."""
        django_json(env, CHECK_LEDGER)
        assert self.value("SELECT count(*) FROM tracking_conversionevent WHERE processed_at IS NULL") == 0


@pytest.fixture(scope="session")
def throwaway_postgres():
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="hub-faults-"))
    postgres = ThrowawayPostgres(root / "pg")
    try:
        postgres.init()
        postgres.start()
        postgres.execute(f"CREATE DATABASE {TEMPLATE}")
        env = app_env(postgres.url(TEMPLATE), "", root / "spool")
        env.pop("REDIS_URL")
        manage(env, "migrate", "--noinput", timeout=180)
        yield postgres
    finally:
        postgres.destroy()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def hub(throwaway_postgres, tmp_path):
    name = f"hub_{uuid.uuid4().hex[:10]}"
    throwaway_postgres.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        yield Hub(throwaway_postgres, name, tmp_path)
    finally:
        throwaway_postgres.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def throwaway_redis(throwaway_postgres):
    redis_server = ThrowawayRedis(Path(tempfile.mkdtemp(prefix="hub-faults-redis-")))
    redis_server.start()
    try:
        yield redis_server
    finally:
        redis_server.destroy()
