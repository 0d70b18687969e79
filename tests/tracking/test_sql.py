"""tracking/sql.py: the postback hot path's hand-written statements read and write what the ORM would."""

from datetime import datetime
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from offers.models import PayoutOverride
from tests.tracking.postback_world import make_click, make_world
from tracking import sql
from tracking.models import Conversion, ConversionEvent, PostbackLog
from tracking.services import find_connection


@pytest.fixture
def world(workspace):
    return make_world(workspace, kind="impact")


def field_values(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def accept(client, world, query):
    conn = world["connection"]
    return client.get(f"/postback/impact/{conn.postback_secret}?{query}")


def test_rows_read_by_hand_equal_what_the_orm_reads(client, world):
    tid = world["click"].transaction_id
    query = f"subid1={tid}&action_id=A1&amount=21.99&payout=1.10&event_date=2024-09-10T10%3A42%3A38-07%3A00"
    assert accept(client, world, query).content == b"accepted"
    for model in (Conversion, PostbackLog, ConversionEvent):
        stored = model.objects.get()
        (by_hand,), extra = sql.fetch_one(
            f"SELECT {sql.columns(model, 't')} FROM {sql.table(model)} t WHERE t.id = %s", [stored.pk], model
        )
        assert extra == ()
        expected, got = field_values(stored), field_values(by_hand)
        assert got == expected
        # Same types too: Decimal amounts, aware datetimes, JSON as Python objects, UUIDs.
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}
        # The hot path loads timestamps with psycopg's own loader: the same tzinfo as the ORM's.
        assert {k: v.tzinfo for k, v in got.items() if isinstance(v, datetime)} == {
            k: v.tzinfo for k, v in expected.items() if isinstance(v, datetime)
        }
        assert by_hand._state.adding is False and by_hand.pk == stored.pk
    conversion = sql.fetch_one(f"SELECT {sql.columns(Conversion, 'c')} FROM {sql.table(Conversion)} c", [], Conversion)[
        0
    ][0]
    assert isinstance(conversion.sale_amount, Decimal) and conversion.event_at.tzinfo is not None
    assert isinstance(conversion.payout_basis, dict) and conversion.payout_basis


def test_a_row_that_matches_nothing_is_none(world):
    assert (
        sql.fetch_one(f"SELECT {sql.columns(Conversion, 'c')} FROM {sql.table(Conversion)} c", [], Conversion) is None
    )


def test_find_connection_brings_the_click_with_its_offer_member_and_override_flag(world, django_assert_num_queries):
    conn, click = world["connection"], world["click"]
    with django_assert_num_queries(1):
        found, lookup = find_connection(secret=conn.postback_secret, transaction_id=click.transaction_id)
        assert found.pk == conn.pk and found.workspace.pk == conn.workspace_id
        assert lookup.transaction_id == click.transaction_id
        assert lookup.click.pk == click.pk
        assert (lookup.click.offer.pk, lookup.click.member.pk) == (world["offer"].pk, world["member"].pk)
        assert lookup.click.has_payout_override is False
    PayoutOverride.objects.create(
        workspace=conn.workspace, offer=world["offer"], member=world["member"], payout_type="flat", payout_flat=3
    )
    assert find_connection(secret=conn.postback_secret, transaction_id=click.transaction_id)[
        1
    ].click.has_payout_override


def test_find_connection_with_an_unknown_click_or_secret(world, other_workspace):
    conn = world["connection"]
    found, lookup = find_connection(secret=conn.postback_secret, transaction_id="never-clicked")
    assert found.pk == conn.pk and lookup.click is None
    again, no_lookup = find_connection(secret=conn.postback_secret)
    assert again.pk == conn.pk and no_lookup is None
    assert find_connection(secret="wrong-secret", transaction_id=world["click"].transaction_id) == (None, None)
    # Another workspace's click is never joined to this connection.
    foreign = make_world(other_workspace, kind="impact")
    assert find_connection(secret=conn.postback_secret, transaction_id=foreign["click"].transaction_id)[1].click is None


def test_find_connection_brings_the_conversion_already_stored_under_the_dedupe_key(client, world, other_workspace):
    conn, tid = world["connection"], world["click"].transaction_id
    assert accept(client, world, f"subid1={tid}&action_id=A1&amount=21.99").content == b"accepted"
    stored = Conversion.objects.get()
    _, lookup = find_connection(secret=conn.postback_secret, transaction_id=tid, dedupe_key=stored.dedupe_key)
    assert lookup.conversion.pk == stored.pk and field_values(lookup.conversion) == field_values(stored)
    assert lookup.conversion_for(stored.dedupe_key).pk == stored.pk
    # Another key: looked up and absent (None); a key that was not looked up: False.
    _, lookup = find_connection(secret=conn.postback_secret, transaction_id=tid, dedupe_key="A2")
    assert lookup.conversion is None and lookup.conversion_for("A2") is None
    assert lookup.conversion_for(stored.dedupe_key) is False
    # The same key in another workspace is that workspace's own business.
    foreign = make_world(other_workspace, kind="impact")
    _, lookup = find_connection(secret=foreign["connection"].postback_secret, dedupe_key=stored.dedupe_key)
    assert lookup.conversion is None


@pytest.mark.postgres
def test_one_statement_writes_conversion_event_and_log_or_nothing(world):
    tid = world["click"].transaction_id
    assert accept_direct(world, tid, "A1") is True
    conversion = Conversion.objects.get()
    event = ConversionEvent.objects.get()
    log = PostbackLog.objects.get()
    assert (event.conversion_id, log.conversion_id) == (conversion.pk, conversion.pk)
    assert event.after["member_id"] == world["member"].pk
    # The same dedupe key: nothing at all is written.
    assert accept_direct(world, tid, "A1") is False
    # Another action on the same click, while the offer allows one per click: nothing either.
    assert accept_direct(world, tid, "A2") is False
    assert (Conversion.objects.count(), ConversionEvent.objects.count(), PostbackLog.objects.count()) == (1, 1, 1)


def accept_direct(world, tid, action):
    from django.utils import timezone

    conn = world["connection"]
    conversion = Conversion(
        workspace=conn.workspace,
        connection=conn,
        network="impact",
        dedupe_key=action,
        transaction_id=tid,
        external_id=action,
        click=world["click"],
        offer=world["offer"],
        member=world["member"],
        source="postback",
        currency="USD",
        sale_amount=Decimal("10.00"),
        payout_basis={"formula": "test"},
        event_at=timezone.now(),
    )
    event = ConversionEvent(
        workspace=conn.workspace,
        conversion=conversion,
        kind="created",
        before={},
        after={"member_id": world["member"].pk},
    )
    log = PostbackLog(
        workspace=conn.workspace,
        connection=conn,
        network="impact",
        method="GET",
        outcome="accepted",
        source_ip="203.0.113.9",
        params={"subid1": tid},
        conversion=conversion,
    )
    written = sql.insert_new_conversion(conversion, event, log)
    if written:
        assert None not in (conversion.pk, event.pk, log.pk)
        assert not conversion._state.adding
    else:
        assert conversion.pk is None
    return written


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_hot_path_statements_are_prepared_on_the_server(client, workspace):
    world = make_world(workspace, kind="impact")
    clicks = [make_click(world["link"]) for _ in range(8)]
    for number, click in enumerate(clicks):
        assert accept(client, world, f"subid1={click.transaction_id}&action_id=P{number}").content == b"accepted"
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("postback_secret" in text for text in prepared)
    assert any(text.lstrip().startswith("WITH conv AS") for text in prepared)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_postback_survives_a_dropped_database_connection(client, workspace):
    world = make_world(workspace, kind="impact")
    first, second = make_click(world["link"]), make_click(world["link"])
    assert accept(client, world, f"subid1={first.transaction_id}&action_id=D1").content == b"accepted"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    # The server drops the web process's persistent connection (a restart, an idle timeout).
    dsn = settings.DATABASES["default"]
    with psycopg.connect(
        dbname=connection.settings_dict["NAME"],
        host=dsn["HOST"],
        port=dsn["PORT"] or 5432,
        user=dsn["USER"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    response = accept(client, world, f"subid1={second.transaction_id}&action_id=D2")
    assert (response.status_code, response.content) == (200, b"accepted")
    assert Conversion.objects.filter(click=second).count() == 1


def test_statements_are_numbered_once_for_postgresql():
    assert sql.numbered("SELECT %s, '100%%' WHERE a = %s") == "SELECT $1, '100%' WHERE a = $2"
    with pytest.raises(ValueError):
        sql.numbered("SELECT %d")


@pytest.mark.postgres
def test_the_new_conversion_insert_is_sent_as_numbered_once(client, world):
    # Its 50-odd parameters are more than psycopg remembers the scan of a %s statement for.
    sql.numbered.cache_clear()
    tid = world["click"].transaction_id
    assert accept(client, world, f"subid1={tid}&action_id=A1&amount=21.99").content == b"accepted"
    assert accept(client, world, "subid1=unknown&action_id=A2&amount=21.99").content == b"unattributed"
    info = sql.numbered.cache_info()
    assert info.hits >= 1 and info.misses <= 2


def test_values_sent_for_an_insert_are_what_the_orm_would_send(client, world, monkeypatch):
    tid = world["click"].transaction_id
    assert accept(client, world, f"subid1={tid}&action_id=A1&amount=21.99&promo_code=SPRING").content == b"accepted"
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)  # auto_now fields read it twice below
    for obj in (Conversion.objects.get(), ConversionEvent.objects.get(), PostbackLog.objects.get()):
        obj.pk = None
        skip = () if isinstance(obj, Conversion) else ("conversion_id",)
        orm = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in sql._insert_fields(type(obj), skip)]
        sent = sql._values(obj, skip)
        assert [type(v) for v in sent] == [type(v) for v in orm]
        assert [getattr(v, "obj", v) for v in sent] == [getattr(v, "obj", v) for v in orm]  # JSON: the wrapped value
