"""The Redis click buffer: clicks appended to a stream, drained in batches, never lost."""

import json
from io import StringIO

import pytest
import redis
from django.core.management import call_command
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.conftest import wait_for
from tests.tracking.test_redirect import BROWSER_UA, hit, make_link
from tracking import tasks
from tracking.click_lookup import find_click
from tracking.clicks import buffer, payload
from tracking.models import Click, Conversion

pytestmark = pytest.mark.redis


@pytest.fixture(autouse=True)
def _buffered(settings, monkeypatch):
    settings.CLICK_BUFFER = "redis"
    settings.TRUSTED_PROXY_COUNT = 0
    monkeypatch.setattr(buffer, "_buffer_down_until", 0.0)


@pytest.fixture
def link(workspace):
    return make_link(workspace)


def tid_of(response):
    return response["Location"].split("tid=")[1].split("&")[0]


def test_a_click_waits_in_the_stream_until_drained(client, link):
    response = hit(client, link)
    assert response.status_code == 302
    assert Click.objects.count() == 0
    assert buffer.buffered_click_count() == 1
    assert buffer.drain_click_buffer() == 1
    click = Click.objects.get()
    assert click.transaction_id == tid_of(response)
    assert (click.link_id, click.offer_id, click.member_id, click.workspace_id) == (
        link.pk,
        link.offer_id,
        link.member_id,
        link.workspace_id,
    )
    assert click.destination == response["Location"]
    assert click.user_agent == BROWSER_UA and click.is_unique and not click.is_bot
    # Drained entries are acknowledged and deleted, and their lookup copy is gone.
    client_ = buffer.buffer_client()
    assert client_.xlen(buffer.STREAM_KEY) == 0
    assert client_.xpending(buffer.STREAM_KEY, buffer.GROUP)["pending"] == 0
    assert client_.get(buffer.TID_KEY.format(click.transaction_id)) is None


def test_the_buffered_row_equals_a_direct_one(client, link, settings):
    response = hit(client, link, sub2="yt")
    buffer.drain_click_buffer()
    buffered = Click.objects.values().get(transaction_id=tid_of(response))
    settings.CLICK_BUFFER = "direct"
    response = hit(client, link, sub2="yt")
    direct = Click.objects.values().get(transaction_id=tid_of(response))
    ignore = {"id", "transaction_id", "created_at", "destination", "is_unique"}
    assert {k: v for k, v in buffered.items() if k not in ignore} == {
        k: v for k, v in direct.items() if k not in ignore
    }
    assert buffered["created_at"] < direct["created_at"]


def test_draining_many_clicks_in_batches(client, link):
    for _ in range(25):
        hit(client, link)
    assert buffer.drain_click_buffer(batch_size=7) == 25
    assert Click.objects.count() == 25
    assert buffer.drain_click_buffer() == 0


def test_a_re_drained_entry_is_harmless(client, link):
    hit(client, link)
    raw = buffer.buffer_client().xrange(buffer.STREAM_KEY)[0][1][b"c"]
    # The same click appended again (a worker that died after inserting but before acking).
    buffer.buffer_client().xadd(buffer.STREAM_KEY, {"c": raw})
    assert buffer.drain_click_buffer() == 2
    assert Click.objects.count() == 1


def test_entries_left_by_a_dead_consumer_are_claimed(client, link):
    for _ in range(3):
        hit(client, link)
    r = buffer.buffer_client()
    buffer._ensure_group(r)
    # A consumer reads the entries and dies before inserting or acknowledging them.
    read = r.xreadgroup(buffer.GROUP, "dead-worker", {buffer.STREAM_KEY: ">"}, count=10)
    assert len(read[0][1]) == 3
    # Not yet idle long enough: left alone.
    assert buffer.drain_click_buffer() == 0
    assert buffer.drain_click_buffer(claim_idle_ms=0) == 3
    assert Click.objects.count() == 3
    assert r.xpending(buffer.STREAM_KEY, buffer.GROUP)["pending"] == 0


def test_an_unreadable_entry_is_dropped_without_blocking_the_others(client, link, caplog):
    buffer.buffer_client().xadd(buffer.STREAM_KEY, {"c": b"{not json"})
    hit(client, link)
    assert buffer.drain_click_buffer() == 1
    assert Click.objects.count() == 1
    assert "unreadable click buffer entry" in caplog.text
    assert buffer.buffer_client().xlen(buffer.STREAM_KEY) == 0


def dead_redis():
    return redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )


def test_if_redis_is_down_the_click_is_inserted_directly(client, link, monkeypatch, django_assert_num_queries):
    tried = []
    real_client = buffer.buffer_client
    monkeypatch.setattr(buffer, "buffer_client", lambda: tried.append(1) or dead_redis())
    with django_assert_num_queries(2):
        response = hit(client, link)
    assert response.status_code == 302
    click = Click.objects.get()
    assert click.transaction_id == tid_of(response)
    assert click.is_unique
    # For a few seconds the process does not try Redis again.
    hit(client, link)
    assert len(tried) == 1 and Click.objects.count() == 2
    monkeypatch.setattr(buffer, "_buffer_down_until", 0.0)
    monkeypatch.setattr(buffer, "buffer_client", real_client)
    hit(client, link)
    assert Click.objects.count() == 2 and buffer.buffered_click_count() == 1


def test_find_click_inserts_a_click_still_in_the_buffer(client, link, django_assert_max_num_queries):
    tid = tid_of(hit(client, link))
    assert Click.objects.count() == 0
    with django_assert_max_num_queries(7):  # lookup, savepoint, insert, FK check (2), release, re-read
        found = find_click(workspace=link.workspace, transaction_id=tid)
    assert found.pk and found.transaction_id == tid
    assert found.member == link.member and found.offer == link.offer
    # The drain then finds it stored and inserts nothing twice.
    buffer.drain_click_buffer()
    assert Click.objects.count() == 1
    assert find_click(workspace=link.workspace, transaction_id=tid) == found


def test_find_click_stays_in_its_workspace(client, link, other_workspace):
    tid = tid_of(hit(client, link))
    assert find_click(workspace=other_workspace, transaction_id=tid) is None
    buffer.drain_click_buffer()
    assert find_click(workspace=other_workspace, transaction_id=tid) is None
    assert find_click(workspace=link.workspace, transaction_id=tid) is not None


def test_find_click_for_unknown_or_absurd_ids(link):
    assert find_click(workspace=link.workspace, transaction_id="0" * 32) is None
    assert find_click(workspace=link.workspace, transaction_id="") is None
    assert find_click(workspace=link.workspace, transaction_id="x" * 500) is None


def test_an_id_the_redirect_cannot_have_minted_costs_no_redis_round_trip(link, monkeypatch):
    # An unattributed postback usually carries someone else's id (an order number, a
    # network's own click id): only 32 lowercase hex characters can be waiting in the buffer.
    real = buffer.buffer_client()
    commands = []

    class Counting(type(real)):
        def execute_command(self, *args, **options):
            commands.append(args[0])
            return super().execute_command(*args, **options)

    counting = Counting(connection_pool=real.connection_pool)
    monkeypatch.setattr(buffer, "buffer_client", lambda: counting)
    for foreign in ("ORDER-1234", "0" * 31, "A" * 32, "b" * 33, "1000.22.1"):
        assert find_click(workspace=link.workspace, transaction_id=foreign) is None
    assert commands == []
    assert find_click(workspace=link.workspace, transaction_id="0" * 32) is None
    assert commands == ["GET"]


def test_find_click_when_redis_is_down_finds_stored_clicks_and_does_not_guess_about_buffered_ones(
    client, link, monkeypatch
):
    stored = tid_of(hit(client, link))
    buffer.drain_click_buffer()
    waiting = tid_of(hit(client, link))
    monkeypatch.setattr(buffer, "buffer_client", dead_redis)
    assert find_click(workspace=link.workspace, transaction_id=stored).transaction_id == stored
    # Unknown or still buffered? Without Redis nobody can say: the postback is answered 503.
    with pytest.raises(redis.RedisError):
        find_click(workspace=link.workspace, transaction_id=waiting)


def test_the_payload_round_trips(client, link):
    hit(client, link, sub1="a", sub5="é")
    raw = buffer.buffer_client().xrange(buffer.STREAM_KEY)[0][1][b"c"]
    click = payload.click_from_payload(raw)
    assert json.loads(payload.click_to_payload(click)) == json.loads(raw)
    assert (click.sub1, click.sub5) == ("a", "é")
    assert click.created_at.tzinfo is not None


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_drains_the_buffer(celery_worker_process, client, workspace):
    link = make_link(workspace)
    tids = {tid_of(hit(client, link)) for _ in range(10)}
    assert Click.objects.count() == 0
    tasks.drain_click_buffer.delay()
    assert wait_for(lambda: Click.objects.count() == 10, timeout=20)
    assert set(Click.objects.values_list("transaction_id", flat=True)) == tids
    assert buffer.buffered_click_count() == 0


@pytest.mark.postgres
def test_a_click_whose_link_was_deleted_meanwhile_does_not_block_the_drain(client, workspace, caplog):
    doomed, kept = make_link(workspace), make_link(workspace)
    hit(client, doomed)
    hit(client, kept)
    doomed.delete()
    assert buffer.drain_click_buffer() == 2
    assert list(Click.objects.values_list("link_id", flat=True)) == [kept.pk]
    assert "its link, offer or member is gone" in caplog.text
    assert buffer.buffered_click_count() == 0


def test_uniques_are_decided_in_the_same_round_trip(client, link):
    hit(client, link, ua="Googlebot/2.1 (+http://www.google.com/bot.html)")
    hit(client, link)
    hit(client, link)
    hit(client, link, ip="198.51.100.20")
    buffer.drain_click_buffer()
    rows = list(Click.objects.order_by("created_at").values_list("is_bot", "is_unique"))
    assert rows == [(True, False), (False, True), (False, False), (False, True)]


def test_a_postback_that_beats_the_drain_still_attributes(client, workspace):
    link = make_link(workspace, kind="generic")
    tid = tid_of(hit(client, link))
    assert Click.objects.count() == 0
    secret = link.offer.connection.postback_secret
    response = client.get(f"/postback/generic/{secret}", {"transaction_id": tid, "amount": "20.00"})
    assert response.status_code == 200, response.content
    conversion = Conversion.objects.get()
    assert conversion.click.transaction_id == tid
    assert (conversion.member, conversion.offer) == (link.member, link.offer)
    # The drain later finds the click stored and adds nothing.
    buffer.drain_click_buffer()
    assert Click.objects.count() == 1


# --- hostile input: nothing a visitor sends may block other clicks -----------


def test_a_nul_byte_in_a_click_is_cleaned_before_it_is_buffered(client, link):
    response = hit(client, link, sub1="a\x00b", ua=BROWSER_UA + "\x00\x07")
    assert response.status_code == 302
    assert buffer.drain_click_buffer() == 1
    click = Click.objects.get()
    assert (click.sub1, click.user_agent) == ("ab", BROWSER_UA)


def poisoned_payload(link, **changes) -> bytes:
    """A buffered entry as an older release (or a hand-edited stream) could have left it."""
    click = payload.click_from_payload(
        payload.click_to_payload(
            Click(
                workspace_id=link.workspace_id,
                transaction_id="f" * 32,
                link_id=link.pk,
                offer_id=link.offer_id,
                member_id=link.member_id,
                created_at=timezone.now(),
                ip_hash="",
                user_agent="ua",
                referrer="",
                is_unique=True,
                is_bot=False,
                offer_state="active",
                destination="https://shop.example/",
            )
        )
    )
    data = json.loads(payload.click_to_payload(click))
    data.update(changes)
    return json.dumps(data).encode()


@pytest.mark.postgres
def test_a_nul_byte_already_in_the_stream_does_not_block_the_batch(client, link):
    for _ in range(3):
        hit(client, link)
    buffer.buffer_client().xadd(buffer.STREAM_KEY, {"c": poisoned_payload(link, s=["x\u0000y", "", "", "", ""])})
    for _ in range(2):
        hit(client, link)
    assert buffer.drain_click_buffer() == 6
    assert Click.objects.count() == 6
    assert Click.objects.get(transaction_id="f" * 32).sub1 == "xy"
    assert buffer.buffered_click_count() == 0
    assert buffer.buffer_client().xpending(buffer.STREAM_KEY, buffer.GROUP)["pending"] == 0


@pytest.mark.postgres
def test_an_entry_the_database_refuses_is_parked_with_its_error(client, link):
    for _ in range(4):
        hit(client, link)
    # A workspace id no bigint can hold: refused by PostgreSQL, however it is inserted.
    bad = poisoned_payload(link, w=10**30)
    buffer.buffer_client().xadd(buffer.STREAM_KEY, {"c": bad})
    hit(client, link)
    assert buffer.drain_click_buffer() == 5
    assert Click.objects.count() == 5
    assert buffer.buffered_click_count() == 0
    dead = buffer.dead_letters()
    assert len(dead) == 1
    assert json.loads(dead[0]["entry"]) == json.loads(bad)
    assert "out of range" in dead[0]["error"]
    # Draining again stores nothing twice and the parked entry stays parked.
    assert buffer.drain_click_buffer() == 0
    assert len(buffer.dead_letters()) == 1


def test_an_unreadable_entry_is_parked_too(client, link):
    buffer.buffer_client().xadd(buffer.STREAM_KEY, {"c": b"{not json"})
    hit(client, link)
    assert buffer.drain_click_buffer() == 1
    assert [entry["entry"] for entry in buffer.dead_letters()] == ["{not json"]


@pytest.mark.postgres
def test_a_postback_for_a_click_with_a_nul_byte_is_accepted(client, workspace):
    link = make_link(workspace, kind="generic")
    tid = tid_of(hit(client, link, sub2="\x00"))
    secret = link.offer.connection.postback_secret
    response = client.get(f"/postback/generic/{secret}", {"transaction_id": tid, "amount": "20.00"})
    assert response.status_code == 200, response.content
    assert Conversion.objects.get().click.transaction_id == tid


@pytest.mark.postgres
def test_the_deadclicks_command_lists_requeues_and_purges(client, link):
    buffer.buffer_client().xadd(buffer.STREAM_KEY, {"c": poisoned_payload(link, w=10**30)})
    buffer.buffer_client().xadd(buffer.STREAM_KEY, {"c": b"{not json"})
    buffer.drain_click_buffer()
    out = StringIO()
    call_command("deadclicks", stdout=out)
    assert "2 parked click(s)" in out.getvalue() and "out of range" in out.getvalue()
    call_command("deadclicks", "--requeue", stdout=StringIO())
    assert buffer.dead_letter_count() == 0 and buffer.buffered_click_count() == 2
    # Still refused: parked again, nothing stored, nothing stuck on the stream.
    assert buffer.drain_click_buffer() == 0
    assert buffer.dead_letter_count() == 2 and buffer.buffered_click_count() == 0
    out = StringIO()
    call_command("deadclicks", "--purge", stdout=out)
    assert "Dropped 2" in out.getvalue() and buffer.dead_letter_count() == 0


def test_the_payload_carries_every_click_column():
    # A column added to Click must travel through the buffer too (Python, Lua and SQL read one table).
    columns = {field.attname for field in Click._meta.concrete_fields} - {"id"}
    carried = set()
    for _, column, _ in payload.FIELDS:
        carried.update(column if isinstance(column, tuple) else (column,))
    assert carried == columns
    assert payload.FIELDS[-1][1] == "is_unique"  # the buffer script appends its value


def test_a_redis_that_lost_its_scripts_still_buffers_the_click(client, link):
    # A restarted Redis has an empty script cache: the EVALSHA is refused, the script is loaded and run.
    buffer.buffer_client().script_flush()
    assert hit(client, link).status_code == 302
    assert hit(client, link).status_code == 302
    assert buffer.buffered_click_count() == 2
    assert buffer.drain_click_buffer() == 2
    assert sorted(Click.objects.values_list("is_unique", flat=True)) == [False, True]


def test_a_connection_that_failed_mid_reply_is_not_reused(link, monkeypatch):
    client_ = buffer.buffer_client()
    conn = client_.connection_pool.get_connection()
    client_.connection_pool.release(conn)

    def times_out(*args, **kwargs):
        raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(type(conn), "read_response", times_out)
    click = Click(transaction_id="0" * 32, workspace_id=link.workspace_id, link=link, offer=link.offer)
    click.member, click.created_at = link.member, timezone.now()
    with pytest.raises(redis.TimeoutError):
        buffer.buffer_click(click)
    monkeypatch.undo()
    assert conn._sock is None  # disconnected; the pool connects it afresh for the next command
    assert client_.ping()
