"""How a click is written: buffered in a Redis stream, or inserted; the drain; the dead letters.

The redirect must answer fast and lose nothing. With ``CLICK_BUFFER="direct"`` (the
embedded default) a click is inserted during the request. With ``"redis"`` (the
default when ``REDIS_URL`` is set) the request only appends the click to a Redis
stream and stores a copy under its transaction id, in one round trip (a Lua script
that also decides whether the click is unique); ``drain_click_buffer`` (a beat task
every few seconds) bulk-inserts the stream through a consumer group:

1. ``XAUTOCLAIM`` takes over entries another consumer read but never acknowledged
   (its worker died mid-batch) once they have been idle for a minute;
2. ``XREADGROUP`` reads new entries in batches;
3. each batch is inserted with ``ON CONFLICT DO NOTHING`` on ``transaction_id``, so a
   re-drained entry is harmless, and only then acknowledged and deleted. An entry the
   database refuses is parked on a dead-letter list (the ``deadclicks`` command).

If Redis is unreachable at click time the click is inserted directly; if the database
is away too, it goes to the local spool (tracking/spool.py), which a task replays. A
postback that arrives before its click was drained still finds it
(``store_buffered_click``); while Redis is down such a postback is answered 503, so the
network retries once the click can be read, instead of recording it unattributed.
Entries are JSON in the format of tracking/clicks/payload.py.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from functools import lru_cache

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from tracking import spool
from tracking.clicks.payload import (
    INSERT_PAYLOADS_SQL,
    MINTED_ID,
    click_from_payload,
    click_to_payload,
    payload_head,
    peek,
)
from tracking.models import Click

log = logging.getLogger(__name__)

STREAM_KEY = "clicks:stream"
# The one field of a stream entry: the payload.
ENTRY_FIELD = "c"
GROUP = "clicks-drain"
TID_KEY = "clicks:tid:{}"
DEAD_KEY = "clicks:dead"
# A buffered click stays findable by transaction id this long, even if no worker drains it.
TID_TTL_SECONDS = 7 * 24 * 3600
# A visitor's first click on a link in this window is its unique click.
UNIQUE_WINDOW_SECONDS = 24 * 3600
CLAIM_IDLE_MS = 60_000
# After Redis failed, clicks go straight to the database this long before Redis is tried again.
BUFFER_RETRY_SECONDS = 5.0
_buffer_down_until = 0.0


# --- writing a click ------------------------------------------------------


def store_click(click: Click, *, unique_key: str | None = None) -> None:
    """Decide uniqueness and write the click.

    Buffered: one Redis round trip does both (see buffer_click). Direct: cache.add, then
    an INSERT. When Redis fails, the click is inserted directly (counted unique, since
    the window lives in Redis too), and for BUFFER_RETRY_SECONDS this process does not
    try Redis again, so an outage costs each redirect nothing. When the insert fails
    because the database is away, the click is spooled; the redirect goes on.
    """
    global _buffer_down_until
    if settings.CLICK_BUFFER == "redis":
        if time.monotonic() >= _buffer_down_until:
            try:
                buffer_click(click, unique_key=unique_key)
                return
            except redis.RedisError:
                _buffer_down_until = time.monotonic() + BUFFER_RETRY_SECONDS
                log.warning("click buffer unavailable; inserting clicks directly", exc_info=True)
        click.is_unique = unique_key is not None
    else:
        click.is_unique = claim_unique(unique_key) if unique_key else False
    try:
        click.save(force_insert=True)
    except spool.DATABASE_DOWN:
        log.warning("database unavailable; spooling click %s", click.transaction_id, exc_info=True)
        try:
            spool.put({"kind": "click", "payload": click_to_payload(click)})
        except OSError:
            log.exception("could not spool click %s", click.transaction_id)


def claim_unique(key: str) -> bool:
    """True for the visitor's first click on this link in 24 hours (one atomic cache.add, no query)."""
    try:
        return cache.add(key, 1, timeout=UNIQUE_WINDOW_SECONDS)
    except Exception:  # the cache is down: count the click as unique rather than fail the redirect
        log.warning("unique-click cache unavailable", exc_info=True)
        return True


# --- the Redis buffer -----------------------------------------------------


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # Short timeouts and no retries: a stalled Redis must turn into a direct insert, not a stalled redirect.
    return redis.Redis.from_url(
        url, socket_timeout=1.0, socket_connect_timeout=0.5, health_check_interval=30, retry=Retry(NoBackoff(), 0)
    )


def buffer_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


# KEYS: stream, transaction-id key, unique key. ARGV: payload head, its TTL, unique window, "1" to claim.
# SET NX is what cache.add does: the first click of a visitor on a link in the window wins.
# The head ends with the key of is_unique, whose value finishes the payload.
_BUFFER_SCRIPT = f"""
local unique = 'false'
if ARGV[4] == '1' and redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[3]) then
  unique = 'true'
end
local payload = ARGV[1] .. unique .. '}}'
redis.call('XADD', KEYS[1], '*', '{ENTRY_FIELD}', payload)
redis.call('SET', KEYS[2], payload, 'EX', ARGV[2])
return unique == 'true' and 1 or 0
"""


@lru_cache(maxsize=4)
def _buffer_script(client: redis.Redis):
    return client.register_script(_BUFFER_SCRIPT)


def buffer_click(click: Click, *, unique_key: str | None = None) -> None:
    """One round trip: claim the unique slot, XADD to the stream, SET the copy findable by transaction id."""
    client = buffer_client()
    keys = [STREAM_KEY, TID_KEY.format(click.transaction_id), unique_key or "clicks:u:none"]
    args = [payload_head(click), TID_TTL_SECONDS, UNIQUE_WINDOW_SECONDS, "1" if unique_key else "0"]
    click.is_unique = bool(_run_script(client, _buffer_script(client), keys, args))


def _run_script(client: redis.Redis, script, keys: list, args: list):
    """``script(keys=keys, args=args)`` as one EVALSHA on a pooled connection.

    redis-py's command path (retry bookkeeping, which is off here, timing hooks, debug
    logging) costs more CPU than sending the command and reading its reply; on the click
    redirect, 43 us against 13. The connection comes from and goes back to the client's
    pool as with any command; one that failed mid-reply is disconnected, so the next
    command does not read this one's leftovers. A Redis that has lost its script cache
    (a restart) answers NOSCRIPT, and redis-py's own call loads the script and runs it.
    """
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return conn.read_response()
    except redis.exceptions.NoScriptError:
        pass  # the whole error reply was read: the connection is fine
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)
    return script(keys=keys, args=args)


def _ensure_group(client: redis.Redis) -> None:
    try:
        # "0": a group created after clicks were buffered still drains them.
        client.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _insert_entries(client: redis.Redis, entries) -> int:
    """Store one batch of stream entries, park what the database refuses, then acknowledge and delete them all.

    Returns how many entries were stored (or found stored, or dropped with their deleted link).
    """
    if not entries:
        return 0
    ids, payloads = [], []
    for entry_id, fields in entries:
        ids.append(entry_id)
        raw = fields.get(ENTRY_FIELD.encode()) if fields else None
        if raw is not None:  # else an entry trimmed away before we read it
            payloads.append(raw)
    done, parked = store_payloads(payloads)
    # One MULTI: the refused entries are parked exactly when the batch is acknowledged.
    pipe = client.pipeline(transaction=True)
    for raw, error in parked:
        pipe.lpush(DEAD_KEY, _dead_letter(raw, error))
    pipe.xack(STREAM_KEY, GROUP, *ids)
    pipe.xdel(STREAM_KEY, *ids)
    # A parked click's copy goes too: a postback for it is then unattributed (and re-attributable)
    # instead of failing on the same refusal.
    finished = done + [tid for tid in (_transaction_id_of(raw) for raw, _ in parked) if tid]
    if finished:
        pipe.delete(*[TID_KEY.format(tid) for tid in finished])
    pipe.execute()
    return len(done)


# What the database (or the payload parser) answers for an entry it will never take as it is.
# Anything else (a lost connection, a restart) leaves the batch unacknowledged, to be retried whole.
_REFUSED = (IntegrityError, DataError, ValueError, KeyError, TypeError)


def store_payloads(payloads: list[bytes]) -> tuple[list[str], list[tuple[bytes, str]]]:
    """Store buffered clicks; returns (transaction ids done, [(payload, error)] refused).

    The whole batch goes in one statement. When the database refuses it, the batch is
    halved until the refused entries stand alone, so one bad entry costs a few extra
    statements and never holds back the clicks beside it. A lone refused entry gets a
    second chance through Click objects (which clean its text); a click whose link,
    offer or member was deleted while it waited is dropped, as the deletion would have
    removed it; anything else is refused and parked by the caller.
    """
    done: list[str] = []
    refused: list[tuple[bytes, str]] = []
    pending = [payloads] if payloads else []
    while pending:
        batch = pending.pop()
        try:
            done.extend(_insert_batch(batch))
        except _REFUSED as exc:
            if len(batch) > 1:
                middle = len(batch) // 2
                pending += [batch[middle:], batch[:middle]]
            else:
                _store_alone(batch[0], exc, done, refused)
    return done, refused


def _insert_batch(payloads: list[bytes]) -> list[str]:
    if connection.vendor != "postgresql":
        clicks = [click_from_payload(raw) for raw in payloads]
        _insert(clicks)
        return [click.transaction_id for click in clicks]
    with transaction.atomic():
        with connection.cursor() as cursor:
            sql = INSERT_PAYLOADS_SQL.format(table=connection.ops.quote_name(Click._meta.db_table))
            cursor.execute(sql, [(b"[" + b",".join(payloads) + b"]").decode()])
            transaction_ids = [row[0] for row in cursor.fetchall()]
            _check_foreign_keys_now(cursor)
    return transaction_ids


def _store_alone(raw: bytes, first_error: Exception, done: list, refused: list) -> None:
    try:
        click = click_from_payload(raw)
    except (ValueError, KeyError, TypeError) as exc:
        log.error("parking unreadable click buffer entry: %r", raw[:200])
        refused.append((raw, f"unreadable: {exc}"))
        return
    try:
        _insert([click])
    except IntegrityError as exc:
        if _is_missing_parent(exc):
            log.warning("dropping buffered click %s: its link, offer or member is gone", click.transaction_id)
            done.append(click.transaction_id)
            return
        refused.append((raw, str(exc)))
    except DataError as exc:
        refused.append((raw, str(exc)))
    else:
        done.append(click.transaction_id)
        return
    log.error("parking click %s the database refused: %s", click.transaction_id, refused[-1][1])


def _is_missing_parent(exc: IntegrityError) -> bool:
    # PostgreSQL names a foreign key violation by its SQLSTATE; SQLite only in words.
    return getattr(exc.__cause__, "sqlstate", None) == "23503" or "FOREIGN KEY" in str(exc)


def _check_foreign_keys_now(cursor) -> None:
    # Foreign keys are checked at commit; check them now, so a failure stays inside the
    # savepoint even when a caller's transaction (a postback) surrounds us.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _insert(clicks: list[Click]) -> None:
    with transaction.atomic():
        Click.objects.bulk_create(clicks, batch_size=1000, ignore_conflicts=True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                _check_foreign_keys_now(cursor)


# --- refused entries (the dead-letter list) -------------------------------


def _dead_letter(raw: bytes, error: str) -> str:
    return json.dumps(
        {"entry": raw.decode("utf-8", "replace"), "error": error[:1000], "at": timezone.now().isoformat()}
    )


def _transaction_id_of(raw: bytes) -> str | None:
    value = peek(raw, "transaction_id")
    return value if isinstance(value, str) and value.isalnum() else None


def dead_letters(limit: int = 100) -> list[dict]:
    """The newest refused entries: each the payload as it was buffered, the database's error and when."""
    if not settings.REDIS_URL:
        return []
    return [json.loads(item) for item in buffer_client().lrange(DEAD_KEY, 0, limit - 1)]


def dead_letter_count() -> int:
    return buffer_client().llen(DEAD_KEY) if settings.REDIS_URL else 0


def requeue_dead_letters() -> int:
    """Put every parked entry back on the stream (after a fix), oldest first; returns how many."""
    client = buffer_client()
    moved = 0
    while (item := client.rpop(DEAD_KEY)) is not None:
        client.xadd(STREAM_KEY, {ENTRY_FIELD: json.loads(item)["entry"].encode()})
        moved += 1
    return moved


def purge_dead_letters() -> int:
    """Forget every parked entry; returns how many there were."""
    client = buffer_client()
    pipe = client.pipeline(transaction=True)
    pipe.llen(DEAD_KEY)
    pipe.delete(DEAD_KEY)
    count, _ = pipe.execute()
    return count


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def drain_click_buffer(*, batch_size: int = 1000, max_batches: int = 200, claim_idle_ms: int = CLAIM_IDLE_MS) -> int:
    """Move buffered clicks into the database; returns how many were inserted (or already there).

    Safe to run in several workers at once: the consumer group hands each entry to one
    consumer, and inserts ignore transaction ids already stored.
    """
    if not settings.REDIS_URL:
        return 0
    client = buffer_client()
    _ensure_group(client)
    consumer = consumer_name()
    drained = 0
    # Entries a dead consumer read but never acknowledged.
    start = "0-0"
    for _ in range(max_batches):
        start, claimed, *_ = client.xautoclaim(
            STREAM_KEY, GROUP, consumer, min_idle_time=claim_idle_ms, start_id=start, count=batch_size
        )
        drained += _insert_entries(client, claimed)
        if start in (b"0-0", "0-0"):
            break
    for _ in range(max_batches):
        response = client.xreadgroup(GROUP, consumer, {STREAM_KEY: ">"}, count=batch_size)
        entries = response[0][1] if response else []
        if not entries:
            break
        drained += _insert_entries(client, entries)
    return drained


def buffered_click_count() -> int:
    """Clicks waiting in the buffer (for the bench and operators)."""
    if not settings.REDIS_URL:
        return 0
    return buffer_client().xlen(STREAM_KEY)


# --- lookups for postbacks ------------------------------------------------


def store_buffered_click(*, workspace_id: int, transaction_id: str) -> bool:
    """Insert the click still waiting in the buffer under ``transaction_id``, if it is this workspace's.

    True when such a click was found (and is stored now). One Redis GET when there is none,
    and none for an id the redirect cannot have minted (an unattributed postback's usual case).
    Raises redis.RedisError when Redis cannot be asked about a minted id: the caller cannot
    tell an unknown click from one waiting in the buffer, and must not decide as if it were unknown.
    """
    if not settings.REDIS_URL or not MINTED_ID.fullmatch(transaction_id or ""):
        return False
    raw = buffer_client().get(TID_KEY.format(transaction_id))
    if raw is None:
        return False
    if peek(raw, "workspace_id") != workspace_id:
        return False
    done, refused = store_payloads([raw])
    if refused:
        log.error("click %s in the buffer cannot be stored: %s", transaction_id, refused[0][1])
        return False
    return bool(done)
