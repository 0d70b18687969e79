"""Finding our click for a transaction id: the stored row with its offer and member, in the
month the id names when it names one (tracking/clicks/payload.py), else in every month,
or a click still waiting in the Redis buffer.

The SQL pieces are shared with the postback hot path, which reads the click in the same
statement as its connection and the earlier conversion (tracking/services/conversions.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from django.db import connection as db_connection
from django.utils import timezone

from offers.models import Member, Offer, PayoutOverride
from tracking import sql
from tracking.clicks.buffer import store_buffered_click
from tracking.clicks.payload import minted_month
from tracking.models import Click

if TYPE_CHECKING:
    from tracking.attribution import HitLookup


def is_click_id(transaction_id: str) -> bool:
    return bool(transaction_id) and len(transaction_id) <= Click._meta.get_field("transaction_id").max_length


# Whether the member has a payout override on the offer comes along with a click, so
# pricing a conversion needs no further query in the usual case (no override).
CLICK_COLUMNS = "{click}, {offer}, {member}"
OVERRIDE_FLAG = "EXISTS (SELECT 1 FROM {override} p WHERE p.offer_id = k.offer_id AND p.member_id = k.member_id)"
CLICK_JOINS = "{click_table} k JOIN {offer_table} o ON o.id = k.offer_id JOIN {member_table} m ON m.id = k.member_id"


def click_sql_parts() -> dict:
    return {
        "click": sql.columns(Click, "k"),
        "offer": sql.columns(Offer, "o"),
        "member": sql.columns(Member, "m"),
        "override": sql.table(PayoutOverride),
        "click_table": sql.table(Click),
        "offer_table": sql.table(Offer),
        "member_table": sql.table(Member),
    }


# The condition that keeps a click look-up to the month its id names (two parameters:
# the month's start and end), so PostgreSQL reads that month's partition only.
IN_MONTH = " AND k.created_at >= %s AND k.created_at < %s"


def click_month(transaction_id: str) -> tuple:
    """The parameters of IN_MONTH for ``transaction_id``, or () when its id names no believable month."""
    month = minted_month(transaction_id, timezone.now())
    if month is None:
        return ()
    ops = db_connection.ops
    return tuple(ops.adapt_datetimefield_value(moment) for moment in month)


@lru_cache(maxsize=2)
def _click_sql(in_month: bool) -> str:
    parts = click_sql_parts()
    return (
        f"SELECT {CLICK_COLUMNS.format(**parts)}, {OVERRIDE_FLAG.format(**parts)} "
        f"FROM {CLICK_JOINS.format(**parts)} "
        "WHERE k.workspace_id = %s AND k.transaction_id = %s" + (IN_MONTH if in_month else "")
    )


def with_relations(click, offer, member, has_override) -> Click | None:
    if click is None:
        return None
    Click.offer.field.set_cached_value(click, offer)
    Click.member.field.set_cached_value(click, member)
    click.has_payout_override = bool(has_override)
    return click


def _stored_click(workspace_id: int, transaction_id: str, month: tuple) -> Click | None:
    """The stored click, looked for in ``month`` (IN_MONTH's parameters) or, when empty, in every month."""
    params = [workspace_id, transaction_id, *month]
    found = sql.fetch_one(_click_sql(bool(month)), params, Click, Offer, Member)
    if found is None:
        return None
    (click, offer, member), (has_override,) = found
    return with_relations(click, offer, member, has_override)


def find_click(*, workspace, transaction_id: str, lookup: HitLookup | None = None) -> Click | None:
    """Our click for ``transaction_id`` in ``workspace``, with its offer and member.

    One query for a stored click (none when ``lookup`` already holds the answer for this
    transaction id), in the month its id names when it names one. A click still in the
    Redis buffer is stored on the spot by the click service, then read like any other.
    Only when neither finds it is every month searched: an id minted before ids named
    months may name any month by chance.
    """
    if not is_click_id(transaction_id):
        return None
    if lookup is not None and lookup.transaction_id == transaction_id:
        if lookup.click is not None:
            return lookup.click
        click, month = None, click_month(transaction_id) if lookup.month_only else ()
    else:
        month = click_month(transaction_id)
        click = _stored_click(workspace.pk, transaction_id, month)
    if click is None and store_buffered_click(workspace_id=workspace.pk, transaction_id=transaction_id):
        click = _stored_click(workspace.pk, transaction_id, month)
    if click is None and month:
        click = _stored_click(workspace.pk, transaction_id, ())
    return click
