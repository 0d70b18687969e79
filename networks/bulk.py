"""Batch insert of conversions a sync sees for the first time.

A first sync can bring tens of thousands of actions. Calling record_conversion for
each costs several queries per action (click, member, offer, override lookups, a
savepoint, two inserts). For records that have no conversion yet, this module writes
a whole page in a handful of queries, with the conversion core's own rules
(tracking/attribution.py): ``attribute_batch`` (the same attribution rule over facts
fetched in bulk), ``new_conversion`` (key, slot, pricing) and ``created_event``; then
one INSERT ... ON CONFLICT DO NOTHING for the page, one "created" event per row and the
rows' item lines.

Anything this path is not sure about is handed back for record_conversion: values it
would reject or question, transaction ids whose click may still sit in the Redis click
buffer, and rows whose insert conflicted (a postback got there first, another record
of the click, an id-less conversion to adopt). tests/tracking/test_conversion_core.py
checks that every writer stores the same rows.
"""

import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from offers.models import NetworkConnection
from tracking import attribution as core
from tracking.click_lookup import is_click_id
from tracking.models import Conversion, ConversionEvent, ConversionItem
from tracking.reported import ConversionData


def _simple(data: ConversionData) -> bool:
    """True when record_conversion would accept ``data`` without a question."""
    return not core.problem_with(data) and len(data.dedupe_key) <= core.KEY_LENGTH and len(data.transaction_id) <= 64


def _buffered(transaction_ids: set[str]) -> set[str]:
    """Transaction ids whose click is still in the Redis click buffer (record_conversion stores it)."""
    if not transaction_ids or not settings.REDIS_URL:
        return set()
    from tracking.clicks.buffer import TID_KEY, buffer_client

    ids = sorted(transaction_ids)
    try:
        found = buffer_client().mget([TID_KEY.format(t) for t in ids])
    except Exception:  # noqa: BLE001 - unsure: let record_conversion look one by one
        return set(ids)
    return {t for t, raw in zip(ids, found, strict=True) if raw is not None}


@transaction.atomic
def insert_new_conversions(
    *, connection: NetworkConnection, items: list[ConversionData], source: str
) -> tuple[int, list[ConversionData]]:
    """Insert conversions for ``items`` (none of which has a conversion yet).

    Returns (how many were inserted, the items left for record_conversion).
    """
    leftovers = [d for d in items if not _simple(d)]
    items = [d for d in items if _simple(d)]
    attributions = core.attribute_batch(connection=connection, items=items)
    unresolved = {
        d.transaction_id for d, a in zip(items, attributions, strict=True) if d.transaction_id and not a.click
    }
    buffered = _buffered({tid for tid in unresolved if is_click_id(tid)})
    now = timezone.now()
    rows, kept = [], []
    for data, found in zip(items, attributions, strict=True):
        if data.transaction_id in buffered:
            leftovers.append(data)
            continue
        row = core.new_conversion(connection=connection, data=data, source=source, attribution=found, now=now)
        row.code, row.created_at = uuid.uuid4(), now
        rows.append(row)
        kept.append(data)
    if not rows:
        return 0, leftovers
    Conversion.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    inserted = dict(Conversion.objects.filter(code__in=[r.code for r in rows]).values_list("code", "id"))
    events, lines = [], []
    for data, row in zip(kept, rows, strict=True):
        if row.code not in inserted:
            leftovers.append(data)  # conflicted: record_conversion decides (repeat, adoption, another sale)
            continue
        row.pk = inserted[row.code]
        events.append(core.created_event(row, now=now))
        lines += core.item_rows(row, data)
    ConversionEvent.objects.bulk_create(events, batch_size=1000)
    ConversionItem.objects.bulk_create(lines, batch_size=1000)
    return len(events), leftovers
