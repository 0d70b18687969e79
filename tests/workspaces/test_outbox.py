"""Outbox readers: every committed row reaches each consumer once, in id order, never a rolled-back one."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from tests.tracking.postback_world import make_world
from tracking.models import ConversionEvent, PostbackLog
from tracking.reported import ConversionData
from tracking.services import change_conversion_status, record_conversion
from workspaces.models import Event, OutboxCursor
from workspaces.outbox import consume, lag, publish


def collect(into: list):
    return lambda rows: into.extend(row.pk for row in rows)


def test_a_consumer_reads_new_rows_once_in_order(workspace):
    consume("notes", Event, collect([]))  # a new consumer starts after the newest row
    first = [publish(workspace=workspace, topic="payment.sent", data={"n": n}) for n in range(3)]
    seen = []
    assert consume("notes", Event, collect(seen)) == 3
    assert consume("notes", Event, collect(seen)) == 0
    later = publish(workspace=workspace, topic="payment.failed")
    assert consume("notes", Event, collect(seen)) == 1
    assert seen == [e.pk for e in first] + [later.pk]
    assert OutboxCursor.objects.get(consumer="notes").position == later.pk


def test_a_new_consumer_skips_history_unless_asked_to_start_from_the_first_row(workspace):
    old = publish(workspace=workspace, topic="sync.failed")
    skipped, everything = [], []
    consume("fresh", Event, collect(skipped))
    consume("archivist", Event, collect(everything), from_start=True)
    assert skipped == []
    assert old.pk in everything


def test_consumers_keep_their_own_cursors(workspace):
    consume("a", Event, collect([]))
    consume("b", Event, collect([]))
    event = publish(workspace=workspace, topic="payment.sent")
    a, b = [], []
    consume("a", Event, collect(a))
    assert lag("b", Event) == 1
    consume("b", Event, collect(b))
    assert a == b == [event.pk]
    assert lag("b", Event) == 0


def test_a_handler_that_fails_leaves_the_cursor_and_its_writes_where_they_were(workspace):
    consume("fragile", Event, collect([]))
    publish(workspace=workspace, topic="payment.sent")

    def fail(rows):
        publish(workspace=workspace, topic="written.by.the.handler")
        raise RuntimeError("the handler broke")

    with pytest.raises(RuntimeError):
        consume("fragile", Event, fail)
    assert not Event.objects.filter(topic="written.by.the.handler").exists()
    seen = []
    consume("fragile", Event, collect(seen))
    assert len(seen) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_row_committed_late_is_not_skipped_and_a_rolled_back_one_is_never_read(workspace):
    """Another connection holds an event open while a later one commits: the reader waits for it."""
    consume("webhooks", Event, collect([]))
    inserted, release = threading.Event(), threading.Event()
    outcome = {}

    def slow_writer(commit: bool):
        try:
            with transaction.atomic():
                outcome["slow"] = publish(workspace=workspace, topic="payment.sent").pk
                inserted.set()
                release.wait(10)
                if not commit:
                    transaction.set_rollback(True)
        finally:
            connection.close()

    for commit in (True, False):
        inserted.clear(), release.clear()
        writer = threading.Thread(target=slow_writer, args=(commit,))
        writer.start()
        assert inserted.wait(10)
        quick = publish(workspace=workspace, topic="payment.failed").pk
        assert quick > outcome["slow"]
        seen = []
        assert consume("webhooks", Event, collect(seen)) == 0  # the slow one is still in flight
        release.set()
        writer.join(10)
        consume("webhooks", Event, collect(seen))
        # Committed: both, the one that was written first first. Rolled back: only the quick one.
        assert seen == ([outcome["slow"], quick] if commit else [quick])


def test_conversion_events_are_read_like_any_outbox_whichever_way_they_were_written(workspace):
    """The hot path's one-statement insert and the ORM both leave the database to fill the txid in."""
    world = make_world(workspace)
    consume("rules", ConversionEvent, collect([]))
    hot = record_conversion(
        connection=world["connection"],
        data=ConversionData(external_id="A1", transaction_id=world["click"].transaction_id, sale_amount=Decimal("40")),
        source="postback",
        postback=PostbackLog(network="impact", method="GET", query="oid=A1"),
    )
    change_conversion_status(conversion=hot.conversion, status="approved", actor="alice")
    seen = []
    consume("rules", ConversionEvent, collect(seen))
    events = list(ConversionEvent.objects.filter(conversion=hot.conversion).order_by("pk"))
    assert seen == [e.pk for e in events] and len(events) == 2
    if connection.vendor == "postgresql":
        assert all(e.txid for e in events)


@pytest.mark.postgres
def test_a_transaction_open_in_another_database_does_not_hold_readers_back(workspace):
    import psycopg

    consume("webhooks", Event, collect([]))
    params = connection.get_connection_params()
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=False) as elsewhere:
        elsewhere.execute("SELECT pg_current_xact_id()")  # holds a transaction id, never commits
        event = publish(workspace=workspace, topic="payment.sent")
        seen = []
        consume("webhooks", Event, collect(seen))
        assert seen == [event.pk]
        elsewhere.rollback()


def test_a_short_transaction_id_is_read_in_the_epoch_of_the_newest():
    from workspaces.outbox import _widen

    epoch = 3 << 32
    assert _widen(500, epoch + 900) == epoch + 500
    assert _widen(4_000_000_000, epoch + 900) == epoch - (1 << 32) + 4_000_000_000
