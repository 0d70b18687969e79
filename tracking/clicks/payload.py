"""A click as the buffer holds it: compact JSON, written by Python, finished by Lua, read by SQL.

FIELDS is the one table of the format: for each field, its key in the JSON payload,
its Click column and its PostgreSQL type. From it come the payload a click is buffered
as (payload_head), the Click read back from one (click_from_payload) and the drain's
statement that turns a batch of payloads into rows without Python per click
(INSERT_PAYLOADS_SQL). The buffer script (tracking/clicks/buffer.py) spells no field:
it appends the last one's value, ``true}`` or ``false}``, to the head it is given.

Entries wait in Redis across a deploy, so a change of keys or order must still read the
entries the previous version buffered.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from operator import attrgetter

from tracking.models import Click

SUB_KEYS = ("sub1", "sub2", "sub3", "sub4", "sub5")

# Every click id the redirect mints is 32 lowercase hex characters: unguessable, URL-safe,
# and alphanumeric as ShareASale's afftrack needs. Only such an id can be waiting in the
# buffer. The first four are the month the click was made in (months since January 2000,
# UTC), the other 28 are random (112 bits): a postback's click look-up then reads that
# month's partition only (tracking/partitions.py). Ids minted before the month was added
# are random throughout; ``minted_month`` reads a month from any id, so a look-up that
# misses in that month looks again in every month.
TRANSACTION_ID_BYTES = 16
MINTED_ID = re.compile(r"[0-9a-f]{32}")
_MONTH_DIGITS = 4
_EPOCH_YEAR = 2000
# Months an id may name and be believed: a random id of the earlier kind falls outside
# this window 99.8 % of the time and is looked up in every month at once.
_MONTHS_BACK, _MONTHS_AHEAD = 120, 1


def _month_number(moment: datetime) -> int:
    return (moment.year - _EPOCH_YEAR) * 12 + moment.month - 1


def mint_transaction_id(now: datetime) -> str:
    """A fresh click id for a click made at ``now`` (aware)."""
    month = _month_number(now.astimezone(UTC))
    return f"{month:0{_MONTH_DIGITS}x}" + secrets.token_hex(TRANSACTION_ID_BYTES - _MONTH_DIGITS // 2)


def minted_month(transaction_id: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The [start, end) of the month a minted id names, when that month is a believable one
    (within ten years before ``now``, or next month); None for any other id."""
    if not MINTED_ID.fullmatch(transaction_id or ""):
        return None
    number = int(transaction_id[:_MONTH_DIGITS], 16)
    current = _month_number(now.astimezone(UTC))
    if not current - _MONTHS_BACK <= number <= current + _MONTHS_AHEAD:
        return None
    year, month = divmod(number, 12)
    start = datetime(_EPOCH_YEAR + year, month + 1, 1, tzinfo=UTC)
    end = start.replace(year=start.year + 1, month=1) if month == 11 else start.replace(month=month + 2)
    return start, end


# (payload key, Click column, PostgreSQL type). A tuple of columns is one JSON array.
FIELDS = (
    ("w", "workspace_id", "bigint"),
    ("t", "transaction_id", "text"),
    ("l", "link_id", "bigint"),
    ("o", "offer_id", "bigint"),
    ("m", "member_id", "bigint"),
    ("at", "created_at", "timestamptz"),
    ("ip", "ip_hash", "text"),
    ("ua", "user_agent", "text"),
    ("r", "referrer", "text"),
    ("s", SUB_KEYS, "text"),
    ("b", "is_bot", "boolean"),
    ("st", "offer_state", "text"),
    ("d", "destination", "text"),
    # Last: the buffer decides it in the same round trip as it stores the click.
    ("u", "is_unique", "boolean"),
)
KEYS = {column: key for key, column, _ in FIELDS if isinstance(column, str)}
UNIQUE_KEY = KEYS["is_unique"]
# What the visitor sent: cleaned and cut to the column's length when a payload is read back.
VISITOR_TEXT = {"user_agent", "referrer", "destination", *SUB_KEYS}

# C0 and C1 control characters and DEL. PostgreSQL text refuses NUL outright, and none of
# them belongs in a stored user agent, referrer or sub-id (they only hide things in exports).
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


def clean_text(value: str, limit: int) -> str:
    """``value`` without control characters, cut to ``limit`` characters: safe to store as text."""
    if value.isprintable():  # the usual case, checked in C
        return value[:limit]
    return _CONTROL_CHARACTERS.sub("", value)[:limit]


# --- writing: a click as a payload ----------------------------------------


def _encoder(column, cast):
    if isinstance(column, tuple):
        values = attrgetter(*column)
        return lambda click: list(values(click))
    if cast == "timestamptz":
        return lambda click: getattr(click, column).isoformat()
    return attrgetter(column)


_ENCODERS = [(key, _encoder(column, cast)) for key, column, cast in FIELDS if key != UNIQUE_KEY]
_HEAD_END = f',"{UNIQUE_KEY}":'


def payload_head(click: Click) -> str:
    """The click as JSON without its closing brace, ending in ``"u":`` (is_unique comes last)."""
    body = json.dumps({key: encode(click) for key, encode in _ENCODERS}, separators=(",", ":"))
    return body[:-1] + _HEAD_END


def click_to_payload(click: Click) -> str:
    """The whole payload, as the buffer script finishes it."""
    return payload_head(click) + ("true}" if click.is_unique else "false}")


# --- reading: a payload as a Click, in Python or in PostgreSQL ------------


def _decoder(column, cast):
    if isinstance(column, tuple):
        return lambda values: {
            sub: clean_text(value, _max_length(sub)) if value else value
            for sub, value in zip(column, values, strict=True)
        }
    if cast == "timestamptz":
        return lambda value: {column: datetime.fromisoformat(value)}
    if column in VISITOR_TEXT:
        limit = _max_length(column)
        return lambda value: {column: clean_text(value, limit)}
    return lambda value: {column: value}


def _max_length(column: str) -> int:
    return Click._meta.get_field(column).max_length


_DECODERS = [(key, _decoder(column, cast)) for key, column, cast in FIELDS]


def click_from_payload(raw: bytes | str) -> Click:
    """The Click a payload holds, its visitor's text cleaned (ValueError, KeyError or TypeError if unreadable)."""
    data = json.loads(raw)
    fields = {}
    for key, decode in _DECODERS:
        fields.update(decode(data[key]))
    return Click(**fields)


def peek(raw: bytes | str, column: str):
    """One field of a payload without reading the rest; None when the payload is not a JSON object."""
    try:
        return json.loads(raw).get(KEYS[column])
    except (ValueError, AttributeError):
        return None


def _sql_value(key: str, cast: str, index: int | None = None) -> str:
    text = f"e->>'{key}'" if index is None else f"e->'{key}'->>{index}"
    return text if cast == "text" else f"({text})::{cast}"


def _sql_columns() -> list[tuple[str, str]]:
    """(SQL expression, column) for each column, in FIELDS order."""
    columns = []
    for key, column, cast in FIELDS:
        if isinstance(column, tuple):
            columns += [(_sql_value(key, cast, index), name) for index, name in enumerate(column)]
        else:
            columns.append((_sql_value(key, cast), column))
    return columns


# The stream's JSON payloads go to PostgreSQL as they are: it reads them into rows, so the
# drain spends no Python per click. {table} is the quoted click table; the one parameter
# the payloads as a JSON array. Returns every transaction id of the batch.
INSERT_PAYLOADS_SQL = """
WITH src AS (
    SELECT {select}
    FROM jsonb_array_elements(%s::jsonb) AS e
), ins AS (
    INSERT INTO {{table}} ({columns})
    SELECT * FROM src
    ON CONFLICT DO NOTHING
)
SELECT transaction_id FROM src
""".format(
    select=", ".join(f"{expression} AS {column}" for expression, column in _sql_columns()),
    columns=", ".join(column for _, column in _sql_columns()),
)
