"""Monthly partitions of the tables that grow with traffic (PostgreSQL only).

Clicks, postback log rows and conversion events are range-partitioned by month on their
time column, so a month past its retention leaves in one ``DROP TABLE`` and each month's
indexes stay small. Each table has:

- one partition per month, ``<table>_pYYYYMM``, created ahead by ``ensure_partitions``
  (the daily beat task and every migrate create this month and the next three);
- a default partition, ``<table>_default``, that takes any row no month partition
  covers (a clock far off, a test dated years back, a month nobody created yet), so an
  insert never fails for want of a partition. When a month partition is created for rows
  that already sit in the default one, they are moved into it in the same transaction.

Every unique constraint and the primary key carry the time column, as PostgreSQL
requires: a click is unique by (``transaction_id``, ``created_at``), a postback log row by
(``code``, ``received_at``), and foreign keys that point at these tables are kept by the
application, not by the database (tracking/models.py). ``convert`` turns an existing
table into a partitioned one and back; migration 0015 runs it.

On SQLite nothing here applies: the tables stay plain and retention deletes rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection, transaction

# table -> time column it is partitioned by
PARTITIONED = {
    "tracking_click": "created_at",
    "tracking_postbacklog": "received_at",
    "tracking_conversionevent": "created_at",
}
MONTHS_AHEAD = 3


@dataclass(frozen=True)
class Month:
    """One month partition: rows with ``start <= time < end`` (UTC)."""

    table: str
    name: str
    start: datetime
    end: datetime


def supported() -> bool:
    return connection.vendor == "postgresql"


def month_start(day: date | datetime) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def partition_name(table: str, start: datetime) -> str:
    return f"{table}_p{start:%Y%m}"


def is_partitioned(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def months(table: str) -> list[Month]:
    """The month partitions attached to ``table``, oldest first (the default one is not listed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE pg_inherits.inhparent = to_regclass(%s) AND child.relname LIKE %s
            """,
            [table, f"{table}_p%"],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        start = datetime.strptime(name.rsplit("_p", 1)[1], "%Y%m").replace(tzinfo=UTC)
        found.append(Month(table, name, start, next_month(start)))
    return sorted(found, key=lambda m: m.start)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def create_month(cursor, table: str, start: datetime) -> bool:
    """Create ``table``'s partition for the month starting at ``start``; False if it exists.

    Rows of that month already in the default partition move into the new one: they are
    taken out of the default, the month is attached, and they are put back through the
    parent, all in the caller's transaction.
    """
    name = partition_name(table, start)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        return False
    column = PARTITIONED[table]
    end = next_month(start)
    default = f"{table}_default"
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [default])
    has_default = cursor.fetchone()[0]
    moved = False
    if has_default:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {_q(default)} WHERE {_q(column)} >= %s AND {_q(column)} < %s)",
            [start, end],
        )
        moved = cursor.fetchone()[0]
    if moved:
        hold = f"{name}_moving"
        cursor.execute(f"CREATE TEMPORARY TABLE {_q(hold)} (LIKE {_q(table)})")
        cursor.execute(
            f"WITH gone AS (DELETE FROM {_q(default)} WHERE {_q(column)} >= %s AND {_q(column)} < %s RETURNING *) "
            f"INSERT INTO {_q(hold)} SELECT * FROM gone",
            [start, end],
        )
    cursor.execute(
        f"CREATE TABLE {_q(name)} PARTITION OF {_q(table)} FOR VALUES FROM (%s) TO (%s)",
        [start.isoformat(), end.isoformat()],
    )
    if moved:
        cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(hold)}")
        cursor.execute(f"DROP TABLE {_q(hold)}")
    return True


def ensure_partitions(*, now: datetime | None = None, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create this month's partition and the next ``ahead`` months' for every partitioned table.

    Returns the names created (none when they all exist, or on a database without
    partitioning). Each table is done in its own short transaction.
    """
    if not supported():
        return []
    start = month_start(now or datetime.now(UTC))
    created = []
    for table in PARTITIONED:
        if not is_partitioned(table):
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            month = start
            for _ in range(ahead + 1):
                if create_month(cursor, table, month):
                    created.append(partition_name(table, month))
                month = next_month(month)
    return created


def drop_month(month: Month, *, keep_where: str = "", before_drop: tuple[str, ...] = ()) -> tuple[int, int]:
    """Take a month out of its table and drop it; returns (rows it held, rows kept).

    ``keep_where`` (SQL over the detached month, aliased ``m``) picks rows to keep: they go
    back in through the parent, which files them in the default partition. Each of
    ``before_drop`` runs first with ``{month}`` naming the detached table (clearing
    references to its rows). One transaction: readers see the month until it is gone.
    """
    kept = 0
    with transaction.atomic(), connection.cursor() as cursor:
        # Foreign keys are checked at commit; a table with checks pending cannot be detached,
        # so an enclosing transaction that wrote to the month has them run now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {_q(month.table)} DETACH PARTITION {_q(month.name)}")
        cursor.execute(f"SELECT count(*) FROM {_q(month.name)}")
        held = cursor.fetchone()[0]
        if keep_where:
            cursor.execute(f"INSERT INTO {_q(month.table)} SELECT m.* FROM {_q(month.name)} m WHERE {keep_where}")
            kept = cursor.rowcount
        for sql in before_drop:
            cursor.execute(sql.format(month=_q(month.name)))
        cursor.execute(f"DROP TABLE {_q(month.name)}")
    return held, kept


# --- Turning a plain table into a partitioned one and back (migration 0015) ---------------


def _definitions(cursor, table: str) -> tuple[list[str], list[tuple[str, str]], str, list[str]]:
    """(index definitions, (name, definition) of unique/check/foreign-key constraints,
    primary key name, tables whose foreign keys point here) of ``table``."""
    cursor.execute(
        """
        SELECT pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = to_regclass(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        [table],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        """
        SELECT conname, contype, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u', 'f', 'c')
        ORDER BY contype, conname
        """,
        [table],
    )
    constraints, pkey = [], ""
    for name, kind, definition in cursor.fetchall():
        if kind == "p":
            pkey = name
        else:
            constraints.append((name, definition))
    cursor.execute(
        "SELECT conrelid::regclass::text FROM pg_constraint WHERE confrelid = to_regclass(%s) AND contype = 'f' "
        "AND conrelid <> confrelid",
        [table],
    )
    incoming = [row[0] for row in cursor.fetchall()]
    return indexes, constraints, pkey, incoming


def convert(cursor, table: str, *, partitioned: bool, now: datetime | None = None) -> None:
    """Rebuild ``table`` as a partitioned table (or, with ``partitioned=False``, as a plain one).

    The rows are copied into a new table under a temporary name (with a month partition
    for every month from the oldest row), the old table is dropped and the new one takes
    its name, then its indexes and constraints are created again under their old names.
    It runs inside the migration's transaction, so the table is locked throughout: README
    "Data that grows for years" gives the time it takes.
    """
    if is_partitioned(table) == partitioned:
        return
    column = PARTITIONED[table]
    indexes, constraints, pkey, incoming = _definitions(cursor, table)
    if incoming:
        raise RuntimeError(f"{table} is referenced by foreign keys from {incoming}; drop them first")
    new = f"{table}_new"
    # Everything but indexes and constraints; the column defaults (the id's identity included).
    like = f"LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING STORAGE"
    if partitioned:
        cursor.execute(f"CREATE TABLE {_q(new)} ({like}) PARTITION BY RANGE ({_q(column)})")
        cursor.execute(f"SELECT min({_q(column)}) FROM {_q(table)}")
        first = cursor.fetchone()[0]
        month = month_start(min(first, now or datetime.now(UTC)) if first else (now or datetime.now(UTC)))
        last = month_start(now or datetime.now(UTC))
        for _ in range(MONTHS_AHEAD):
            last = next_month(last)
        while month <= last:
            cursor.execute(
                f"CREATE TABLE {_q(partition_name(table, month))} PARTITION OF {_q(new)} FOR VALUES FROM (%s) TO (%s)",
                [month.isoformat(), next_month(month).isoformat()],
            )
            month = next_month(month)
        cursor.execute(f"CREATE TABLE {_q(table + '_default')} PARTITION OF {_q(new)} DEFAULT")
    else:
        cursor.execute(f"CREATE TABLE {_q(new)} ({like})")
    cursor.execute(f"INSERT INTO {_q(new)} SELECT * FROM {_q(table)} ORDER BY id")
    cursor.execute(f"SELECT max(id) FROM {_q(new)}")
    top = cursor.fetchone()[0]
    cursor.execute(f"DROP TABLE {_q(table)}")
    cursor.execute(f"ALTER TABLE {_q(new)} RENAME TO {_q(table)}")
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    if sequence:
        # LIKE named the identity after the temporary table; give it the usual name back.
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {_q(table + '_id_seq')}")
        if top:
            cursor.execute("SELECT setval(%s, %s)", [f"{table}_id_seq", top])
    key = f"(id, {_q(column)})" if partitioned else "(id)"
    cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(pkey or table + '_pkey')} PRIMARY KEY {key}")
    for definition in indexes:
        cursor.execute(definition)
    for name, definition in constraints:
        if partitioned and definition.startswith("UNIQUE") and column not in definition:
            raise RuntimeError(f"{table}.{name} must include {column} to be partitioned: {definition}")
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
