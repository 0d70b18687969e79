"""Report reads from a streaming replica (DATABASE_REPLICA_URL), never a write.

With DATABASE_REPLICA_URL set, settings add the database alias ``replica`` and this
router. Report pages, their CSVs and the report API run inside ``replica_reads`` (the
``reads_from_replica`` decorator): their ORM reads go to the replica; every write,
and every read outside those views (sign-in, the workspace, API keys, everything
else), goes to ``default``. A replica lags its primary; report pages say by how much
(``replica_lag_context``), beside the time zone.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
_reading = ContextVar("replica_reads", default=False)

# Seconds the replica is behind: 0 when it has replayed all it received, NULL on a primary.
LAG_SQL = (
    "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return REPLICA if _reading.get() else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both aliases

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def has_replica() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads():
    token = _reading.set(has_replica())
    try:
        yield
    finally:
        _reading.reset(token)


def _streamed_from_replica(content):
    with replica_reads():
        yield from content


def reads_from_replica(view):
    """Run ``view`` (and a streamed response's rows, read after it returns) with reads on the replica."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        with replica_reads():
            response = view(*args, **kwargs)
        if getattr(response, "streaming", False):
            response.streaming_content = _streamed_from_replica(response.streaming_content)
        return response

    return wrapper


def replica_lag() -> float | None:
    """Seconds the replica is behind, or None when reads come from the primary."""
    if not _reading.get():
        return None
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(LAG_SQL)
        lag = cursor.fetchone()[0]
    return None if lag is None else float(lag)


def replica_lag_context(request) -> dict:
    """Template context: ``replica_lag`` (whole seconds) on pages that read from a replica."""
    lag = replica_lag()
    return {"replica_lag": None if lag is None else int(lag)}
