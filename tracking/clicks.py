"""Click services: find a link, record a click, buffer it in Redis and drain the buffer.

The redirect must answer fast and lose nothing. With ``CLICK_BUFFER="direct"`` (the
embedded default) a click is inserted during the request. With ``"redis"`` (the
default when ``REDIS_URL`` is set) the request only appends the click to a Redis
stream and stores a copy under its transaction id; ``drain_click_buffer`` (a beat
task every few seconds) bulk-inserts the stream through a consumer group:

1. ``XAUTOCLAIM`` takes over entries another consumer read but never acknowledged
   (its worker died mid-batch) once they have been idle for a minute;
2. ``XREADGROUP`` reads new entries in batches;
3. each batch is inserted with ``ON CONFLICT DO NOTHING`` on ``transaction_id``, so a
   re-drained entry is harmless, and only then acknowledged and deleted.

If Redis is unreachable at click time the click is inserted directly, and a postback
that arrives before its click was drained still finds it (``store_buffered_click``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import redis
from crawlerdetect import CrawlerDetect
from django.conf import settings
from django.core.cache import cache
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from offers import lib
from offers.models import LINK_CODE_LENGTH, Link, Member, Offer
from tracking.models import Click
from workspaces.http import client_ip

log = logging.getLogger(__name__)

STREAM_KEY = "clicks:stream"
GROUP = "clicks-drain"
TID_KEY = "clicks:tid:{}"
# A buffered click stays findable by transaction id this long, even if no worker drains it.
TID_TTL_SECONDS = 7 * 24 * 3600
UNIQUE_WINDOW_SECONDS = 24 * 3600
CLAIM_IDLE_MS = 60_000
# After Redis failed, clicks go straight to the database this long before Redis is tried again.
BUFFER_RETRY_SECONDS = 5.0
_buffer_down_until = 0.0
SUB_KEYS = ("sub1", "sub2", "sub3", "sub4", "sub5")

_crawlers = CrawlerDetect()


@dataclass(frozen=True)
class Visitor:
    """What a click needs from the request. The IP lives here only until it is hashed; rows keep the hash."""

    ip: str
    user_agent: str
    referrer: str
    is_head: bool = False


# --- the visitor ----------------------------------------------------------


# C0 and C1 control characters and DEL. PostgreSQL text refuses NUL outright, and none of
# them belongs in a stored user agent, referrer or sub-id (they only hide things in exports).
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


def clean_text(value: str, limit: int) -> str:
    """``value`` without control characters, cut to ``limit`` characters: safe to store as text."""
    if value.isprintable():  # the usual case, checked in C
        return value[:limit]
    return _CONTROL_CHARACTERS.sub("", value)[:limit]


def header_text(value: str, limit: int) -> str:
    """A request header as stored text: WSGI hands header bytes over as latin-1, browsers send UTF-8."""
    if not value.isascii():
        value = value.encode("latin-1", "replace").decode("utf-8", "replace")
    return clean_text(value, limit)


def visitor_from_request(request) -> Visitor:
    meta = request.META
    return Visitor(
        ip=client_ip(meta),
        user_agent=header_text(meta.get("HTTP_USER_AGENT", ""), 512),
        referrer=header_text(meta.get("HTTP_REFERER", ""), 1024),
        is_head=request.method == "HEAD",
    )


def hash_ip(ip: str) -> str:
    """HMAC-SHA256 of the IP with IP_HASH_KEY: stable for reports, useless without the key."""
    if not ip:
        return ""
    return hmac.new(settings.IP_HASH_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()


def visitor_key(visitor: Visitor) -> str:
    message = f"{visitor.ip}\n{visitor.user_agent}".encode()
    return hmac.new(settings.IP_HASH_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def is_bot(visitor: Visitor) -> bool:
    """HEAD requests, empty user agents and known crawlers (crawlerdetect's list)."""
    if visitor.is_head or not visitor.user_agent.strip():
        return True
    return _crawlers.is_crawler(visitor.user_agent)


def unique_key(*, link_id: int, visitor: Visitor) -> str:
    return f"clicks:u:{link_id}:{visitor_key(visitor)}"


def claim_unique(key: str) -> bool:
    """True for the visitor's first click on this link in 24 hours (one atomic cache.add, no query)."""
    try:
        return cache.add(key, 1, timeout=UNIQUE_WINDOW_SECONDS)
    except Exception:  # the cache is down: count the click as unique rather than fail the redirect
        log.warning("unique-click cache unavailable", exc_info=True)
        return True


def new_transaction_id() -> str:
    """128 random bits as 32 hex characters: unguessable, URL-safe, and alphanumeric as ShareASale's afftrack needs."""
    return secrets.token_hex(16)


# --- the link -------------------------------------------------------------


# code -> (expires at, Link or None). Per process; see find_link.
_link_cache: dict[str, tuple[float, Link | None]] = {}
LINK_CACHE_MAX = 20_000


def find_link(code: str) -> Link | None:
    """The link for ``code``, kept in this process for CLICK_LINK_CACHE_SECONDS.

    Popular links are clicked many times a second; remembering them briefly takes the
    only database query off most redirects. The price: pausing an offer or archiving a
    link reaches a running web process up to that many seconds later. Start and end
    dates are exact, because the offer's state is computed at each click.
    """
    ttl = settings.CLICK_LINK_CACHE_SECONDS
    if ttl <= 0:
        return query_link(code)
    now = time.monotonic()
    cached = _link_cache.get(code)
    if cached is not None and cached[0] > now:
        return cached[1]
    link = query_link(code)
    if len(_link_cache) >= LINK_CACHE_MAX:
        _link_cache.clear()
    _link_cache[code] = (now + ttl, link)
    return link


def clear_link_cache() -> None:
    _link_cache.clear()


def query_link(code: str) -> Link | None:
    """The link whose code or vanity slug is ``code``, with its offer, connection and member; one query."""
    could_be_code = len(code) == LINK_CODE_LENGTH and code.isalnum()
    could_be_vanity = code == code.lower() and len(code) >= 3
    if could_be_code and could_be_vanity:
        match = Q(code=code) | Q(vanity=code)
    elif could_be_code:
        match = Q(code=code)
    else:
        match = Q(vanity=code)
    links = list(Link.objects.select_related("offer__connection", "member").filter(match)[:2])
    # A code wins over another link's vanity slug of the same spelling.
    links.sort(key=lambda link: link.code != code)
    return links[0] if links else None


def link_state(link: Link, when: datetime) -> str:
    """The offer's state for this click: active, paused, scheduled, expired, or archived."""
    if link.archived_at or link.offer.archived_at or link.member.status == Member.Status.ARCHIVED:
        return "archived"
    return link.offer.state_at(when)


def clean_subs(params) -> dict[str, str]:
    """sub1..sub5 passed on the click URL (``/c/<code>?sub1=story``), cleaned and bounded like the model."""
    subs = {}
    for key in SUB_KEYS:
        value = params.get(key)
        if value:
            value = clean_text(value, 255)
            if value:
                subs[key] = value
    return subs


# --- recording ------------------------------------------------------------


def record_click(
    *, link: Link, visitor: Visitor, deep_url: str | None = None, subs: dict | None = None, now=None
) -> Click:
    """Record one click on ``link`` and return it with ``destination`` set.

    The row is written now (direct) or by the drain (redis buffer); either way the
    returned Click's transaction_id is final.
    """
    now = now or timezone.now()
    offer, member = link.offer, link.member
    state = link_state(link, now)
    bot = is_bot(visitor)
    transaction_id = new_transaction_id()
    if state == Offer.State.ACTIVE:
        destination = lib.build_destination(offer, link, member, transaction_id, now, deep_url=deep_url, subs=subs)
    else:
        destination = lib.build_inactive_destination(offer, link)
    sub_values = {key: (subs or {}).get(key) or getattr(link, key) for key in SUB_KEYS}
    click = Click(
        workspace_id=link.workspace_id,
        transaction_id=transaction_id,
        link_id=link.pk,
        offer_id=offer.pk,
        member_id=member.pk,
        created_at=now,
        ip_hash=hash_ip(visitor.ip),
        user_agent=visitor.user_agent,
        referrer=visitor.referrer,
        is_unique=False,
        is_bot=bot,
        offer_state=state,
        destination=destination[:2000],
        **sub_values,
    )
    # Bots never use up a visitor's unique click.
    store_click(click, unique_key=None if bot else unique_key(link_id=link.pk, visitor=visitor))
    return click


def store_click(click: Click, *, unique_key: str | None = None) -> None:
    """Decide uniqueness and write the click.

    Buffered: one Redis round trip does both (see buffer_click). Direct: cache.add, then
    an INSERT. When Redis fails, the click is inserted directly (counted unique, since
    the window lives in Redis too), and for BUFFER_RETRY_SECONDS this process does not
    try Redis again, so an outage costs each redirect nothing.
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
    click.save(force_insert=True)


# --- the Redis buffer -----------------------------------------------------


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # Short timeouts and no retries: a stalled Redis must turn into a direct insert, not a stalled redirect.
    return redis.Redis.from_url(
        url, socket_timeout=1.0, socket_connect_timeout=0.5, health_check_interval=30, retry=Retry(NoBackoff(), 0)
    )


def buffer_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def _payload_head(click: Click) -> str:
    """The click as JSON without its closing brace, ending in ``"u":`` (is_unique comes last)."""
    body = json.dumps(
        {
            "w": click.workspace_id,
            "t": click.transaction_id,
            "l": click.link_id,
            "o": click.offer_id,
            "m": click.member_id,
            "at": click.created_at.isoformat(),
            "ip": click.ip_hash,
            "ua": click.user_agent,
            "r": click.referrer,
            "s": [click.sub1, click.sub2, click.sub3, click.sub4, click.sub5],
            "b": click.is_bot,
            "st": click.offer_state,
            "d": click.destination,
        },
        separators=(",", ":"),
    )
    return body[:-1] + ',"u":'


def click_to_payload(click: Click) -> str:
    return _payload_head(click) + ("true}" if click.is_unique else "false}")


def click_from_payload(raw: bytes | str) -> Click:
    data = json.loads(raw)
    subs = dict(zip(SUB_KEYS, data["s"], strict=True))
    return Click(
        workspace_id=data["w"],
        transaction_id=data["t"],
        link_id=data["l"],
        offer_id=data["o"],
        member_id=data["m"],
        created_at=datetime.fromisoformat(data["at"]),
        ip_hash=data["ip"],
        user_agent=clean_text(data["ua"], 512),
        referrer=clean_text(data["r"], 1024),
        is_unique=data["u"],
        is_bot=data["b"],
        offer_state=data["st"],
        destination=clean_text(data["d"], 2000),
        **{key: clean_text(value, 255) if value else value for key, value in subs.items()},
    )


# KEYS: stream, transaction-id key, unique key. ARGV: payload head, its TTL, unique window, "1" to claim.
# SET NX is what cache.add does: the first click of a visitor on a link in the window wins.
_BUFFER_SCRIPT = """
local unique = 'false'
if ARGV[4] == '1' and redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[3]) then
  unique = 'true'
end
local payload = ARGV[1] .. unique .. '}'
redis.call('XADD', KEYS[1], '*', 'c', payload)
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
    args = [_payload_head(click), TID_TTL_SECONDS, UNIQUE_WINDOW_SECONDS, "1" if unique_key else "0"]
    click.is_unique = bool(_buffer_script(client)(keys=keys, args=args))


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
        raw = fields.get(b"c") if fields else None
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


# The stream's JSON payloads go to PostgreSQL as they are: it reads them into rows, so
# the drain spends no Python per click. Returns every transaction id of the batch.
_INSERT_PAYLOADS_SQL = """
WITH src AS (
    SELECT (e->>'w')::bigint AS workspace_id, e->>'t' AS transaction_id, (e->>'l')::bigint AS link_id,
           (e->>'o')::bigint AS offer_id, (e->>'m')::bigint AS member_id, (e->>'at')::timestamptz AS created_at,
           e->>'ip' AS ip_hash, e->>'ua' AS user_agent, e->>'r' AS referrer,
           e->'s'->>0 AS sub1, e->'s'->>1 AS sub2, e->'s'->>2 AS sub3, e->'s'->>3 AS sub4, e->'s'->>4 AS sub5,
           (e->>'u')::boolean AS is_unique, (e->>'b')::boolean AS is_bot, e->>'st' AS offer_state,
           e->>'d' AS destination
    FROM jsonb_array_elements(%s::jsonb) AS e
), ins AS (
    INSERT INTO {table} (workspace_id, transaction_id, link_id, offer_id, member_id, created_at, ip_hash,
        user_agent, referrer, sub1, sub2, sub3, sub4, sub5, is_unique, is_bot, offer_state, destination)
    SELECT * FROM src
    ON CONFLICT DO NOTHING
)
SELECT transaction_id FROM src
"""

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
            sql = _INSERT_PAYLOADS_SQL.format(table=connection.ops.quote_name(Click._meta.db_table))
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

DEAD_KEY = "clicks:dead"


def _dead_letter(raw: bytes, error: str) -> str:
    return json.dumps(
        {"entry": raw.decode("utf-8", "replace"), "error": error[:1000], "at": timezone.now().isoformat()}
    )


def _transaction_id_of(raw: bytes) -> str | None:
    try:
        value = json.loads(raw).get("t")
    except (ValueError, AttributeError):
        return None
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
        client.xadd(STREAM_KEY, {"c": json.loads(item)["entry"].encode()})
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

    True when such a click was found (and is stored now). One Redis GET when there is none.
    """
    if (
        not settings.REDIS_URL
        or not transaction_id
        or len(transaction_id) > Click._meta.get_field("transaction_id").max_length
    ):
        return False
    try:
        raw = buffer_client().get(TID_KEY.format(transaction_id))
    except redis.RedisError:
        log.warning("click buffer unavailable while looking up %s", transaction_id, exc_info=True)
        return False
    if raw is None:
        return False
    try:
        if json.loads(raw).get("w") != workspace_id:
            return False
    except (ValueError, AttributeError):
        return False
    done, refused = store_payloads([raw])
    if refused:
        log.error("click %s in the buffer cannot be stored: %s", transaction_id, refused[0][1])
        return False
    return bool(done)
