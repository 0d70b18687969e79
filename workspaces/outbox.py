"""Outbox tables and the consumers that read them.

An outbox table is written by the app that makes a change, in the change's own
transaction: ``tracking.ConversionEvent`` for conversions and ``workspaces.Event``
(through ``publish``) for everything else. Readers higher up (the ledger, webhooks,
member postbacks, fraud rules, notifications) each keep a cursor and read new rows
with ``consume``.

Ids are handed out when a row is inserted, not when its transaction commits: a
reader can see id 11 while id 10 is still in flight, and a cursor on ids alone
would then jump over 10 for good. On PostgreSQL every outbox row therefore carries
the id of the transaction that wrote it (``outbox_txid_field``), and a reader takes
rows in (transaction, id) order, only those of transactions older than its
horizon: the oldest transaction still running in this database (other than the
reader's own), and no transaction that started after the horizon was read. Every
transaction below the horizon has finished, so none can add a row behind the
cursor any more. A long-running writer delays readers until it commits; it never
makes them skip. Writers must connect as the hub's database role (or the reader
must see other roles' sessions): when a session in the database is hidden from
the reader, the cluster-wide oldest transaction is used instead.
On SQLite one writer at a time commits in id order, so the id alone is exact.
"""

from collections.abc import Callable, Sequence

from django.db import connection, models, transaction

from workspaces.models import Event, OutboxCursor, Workspace

HORIZON_SQL = """
SELECT pg_current_xact_id()::text::bigint,
       pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
       ARRAY(SELECT backend_xid::text::bigint FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL),
       EXISTS(SELECT 1 FROM pg_stat_activity
              WHERE datname = current_database() AND query = '<insufficient privilege>')
"""


def publish(*, workspace: Workspace, topic: str, subject: str = "", data: dict | None = None) -> Event:
    """Record that ``topic`` happened in ``workspace``; call it inside the change's transaction."""
    return Event.objects.create(workspace=workspace, topic=topic, subject=subject, data=data or {})


def consume(
    consumer: str,
    model: type[models.Model],
    handle: Callable[[Sequence[models.Model]], None],
    *,
    limit: int = 500,
    from_start: bool = False,
) -> int:
    """Hand the next rows of ``model`` after ``consumer``'s cursor to ``handle``.

    ``handle`` runs in the same transaction that moves the cursor, so what it writes
    (deliveries to send, verdicts, notifications) is stored exactly once: if it
    raises, neither its writes nor the cursor move. Consumers of one name are
    serialised by a row lock on their cursor. A new consumer starts after the
    rows already written unless ``from_start``. Returns how many rows were handed over.
    """
    with transaction.atomic():
        cursor = _locked_cursor(consumer, model, from_start=from_start)
        rows = list(_after(cursor, model).order_by(*_order())[:limit])
        if not rows:
            return 0
        handle(rows)
        last = rows[-1]
        cursor.txid, cursor.position = last.txid or 0, last.pk
        cursor.save(update_fields=["txid", "position", "updated_at"])
        return len(rows)


def lag(consumer: str, model: type[models.Model]) -> int:
    """How many finished rows of ``model`` ``consumer`` has not read yet (for health pages and alerts)."""
    cursor = OutboxCursor.objects.filter(consumer=consumer).first()
    return _after(cursor, model).count() if cursor else 0


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _order() -> tuple[str, ...]:
    return ("txid", "pk") if _postgres() else ("pk",)


def _after(cursor: OutboxCursor, model: type[models.Model]) -> models.QuerySet:
    rows = model._default_manager.all()
    if not _postgres():
        return rows.filter(pk__gt=cursor.position)
    later = models.Q(txid__gt=cursor.txid) | models.Q(txid=cursor.txid, pk__gt=cursor.position)
    return rows.filter(later, txid__lt=horizon())


def horizon() -> int:
    """The transaction id below which every transaction of this database has finished (PostgreSQL).

    Read before the rows, in statements of its own. The reader's own transaction id
    caps it: a transaction that starts after this gets a higher id. The reader's own
    rows count as finished when nothing older is running (they are its to read, and
    roll back with its cursor if it fails).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # session activity is cached per transaction
        cursor.execute(HORIZON_SQL)
        own, xmin, running, hidden = cursor.fetchone()
    bounds = [own + 1, *(_widen(xid, own) for xid in running)]
    if hidden:
        bounds.append(xmin)
    return min(bounds)


def _widen(xid: int, newest: int) -> int:
    """A 32-bit transaction id as the 64-bit id of its epoch (the latest one not after ``newest``)."""
    full = (newest >> 32 << 32) | xid
    return full - (1 << 32) if full > newest else full


def _locked_cursor(consumer: str, model: type[models.Model], *, from_start: bool) -> OutboxCursor:
    cursor = OutboxCursor.objects.select_for_update().filter(consumer=consumer).first()
    if cursor is not None:
        return cursor
    start = {"txid": -1, "position": 0}
    if not from_start:
        start = _newest(model)
    OutboxCursor.objects.get_or_create(consumer=consumer, defaults=start)
    return OutboxCursor.objects.select_for_update().get(consumer=consumer)


def _newest(model: type[models.Model]) -> dict:
    """A cursor just past every row written so far (rows still in flight are read later)."""
    if not _postgres():
        return {"txid": 0, "position": model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0}
    newest = model._default_manager.filter(txid__lt=horizon()).order_by("-txid", "-pk").values("txid", "pk").first()
    if newest is None:
        return {"txid": -1, "position": 0}
    return {"txid": newest["txid"], "position": newest["pk"]}
