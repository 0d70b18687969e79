"""Batch insert of conversions a sync sees for the first time.

A first sync can bring tens of thousands of actions. Calling record_conversion for
each costs several queries per action (click, member, offer, override lookups, a
savepoint, two inserts). For actions that have no conversion yet, this module does
the same work for a whole page in a handful of queries:

1. attribution exactly as record_conversion does it: the click by transaction id
   (its member and offer; an affiliate_id that disagrees sets affiliate_mismatch),
   else the member by affiliate_id with their single offer on this connection;
2. the member payout with offers.payouts (the member's override on the offer, else
   the offer's terms), stored with its basis;
3. one INSERT ... ON CONFLICT DO NOTHING for the page, then one ConversionEvent
   ("created", the same snapshot record_conversion writes) per inserted row.

Anything this path is not sure about is handed back for record_conversion: values
record_conversion would reject or question, transaction ids that may still sit in
the Redis click buffer, and rows whose insert conflicted (a postback got there first,
or the offer allows one conversion per click). tests/networks/test_bulk.py checks
that both paths store the same rows.
"""

import uuid
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from offers.models import Link, Member, NetworkConnection, PayoutOverride
from offers.payouts import Terms, compute_payout, no_offer_payout
from tracking.models import Click, Conversion, ConversionEvent, ConversionStatus
from tracking.services import MAX_AMOUNT, STATUS_RANK, ConversionData, snapshot


def _simple(data: ConversionData) -> bool:
    """True when record_conversion would accept ``data`` without a question."""
    if not data.dedupe_key or len(data.dedupe_key) > 300 or len(data.transaction_id) > 64:
        return False
    for value in (data.sale_amount, data.network_payout):
        if value is not None and not (Decimal("0") <= value <= MAX_AMOUNT):
            return False
    if data.status is not None and data.status not in STATUS_RANK:
        return False
    return not data.currency or (len(data.currency) == 3 and data.currency.isalpha())


def _buffered(transaction_ids: set[str]) -> set[str]:
    """Transaction ids whose click is still in the Redis click buffer (record_conversion stores it)."""
    if not transaction_ids or not settings.REDIS_URL:
        return set()
    from tracking.clicks import TID_KEY, buffer_client

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
    workspace = connection.workspace
    leftovers = [d for d in items if not _simple(d)]
    items = [d for d in items if _simple(d)]
    tids = {d.transaction_id for d in items if d.transaction_id}
    clicks = {
        c.transaction_id: c
        for c in Click.objects.filter(workspace=workspace, transaction_id__in=tids).select_related("offer", "member")
    }
    buffered = _buffered(tids - set(clicks))
    if buffered:
        leftovers += [d for d in items if d.transaction_id in buffered]
        items = [d for d in items if d.transaction_id not in buffered]

    wanted = {d.affiliate_id for d in items if d.affiliate_id and d.transaction_id not in clicks}
    members = {m.affiliate_id: m for m in Member.objects.filter(workspace=workspace, affiliate_id__in=wanted)}
    member_offers = _single_offers(connection, members.values())
    pairs = {(c.offer_id, c.member_id) for c in clicks.values()}
    pairs |= {(member_offers[m.id].id, m.id) for m in members.values() if m.id in member_offers}
    overrides = _overrides(pairs)

    now = timezone.now()
    rows = []
    for data in items:
        click = clicks.get(data.transaction_id) if data.transaction_id else None
        mismatch = False
        if click is not None:
            member, offer = click.member, click.offer
            mismatch = bool(data.affiliate_id) and data.affiliate_id != member.affiliate_id
        else:
            member = members.get(data.affiliate_id) if data.affiliate_id else None
            offer = member_offers.get(member.id) if member is not None else None
        sale_amount = data.sale_amount if data.sale_amount is not None else Decimal("0.00")
        network_payout = data.network_payout if data.network_payout is not None else Decimal("0.00")
        if offer is not None:
            terms = overrides.get((offer.id, member.id if member else None)) or Terms(
                offer.payout_type, offer.payout_flat, offer.payout_percent, "offer"
            )
            payout = compute_payout(terms=terms, sale_amount=sale_amount, network_payout=network_payout)
        else:
            payout = no_offer_payout("unattributed: no click or member matched")
        currency = (data.currency or connection.currency or (offer.currency if offer else "") or "USD").upper()
        rows.append(
            Conversion(
                workspace=workspace,
                code=uuid.uuid4(),
                connection=connection,
                network=connection.kind,
                dedupe_key=data.dedupe_key[:300],
                transaction_id=data.transaction_id,
                external_id=data.external_id,
                click=click,
                offer=offer,
                member=member,
                single_per_transaction=not (offer is not None and offer.allow_multiple_conversions),
                status=data.status or ConversionStatus.PENDING,
                source=source,
                currency=currency,
                sale_amount=sale_amount,
                network_payout=network_payout,
                member_payout=payout.amount,
                payout_basis=payout.basis,
                event_at=data.event_at or now,
                locking_at=data.locking_at,
                affiliate_id_given=data.affiliate_id[:64],
                affiliate_mismatch=mismatch,
                created_at=now,
            )
        )
    if not rows:
        return 0, leftovers
    Conversion.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    inserted = dict(Conversion.objects.filter(code__in=[r.code for r in rows]).values_list("code", "id"))
    events = []
    for data, row in zip(items, rows, strict=True):
        if row.code not in inserted:
            leftovers.append(data)  # conflicted: record_conversion decides (duplicate, update, one per click)
            continue
        row.pk = inserted[row.code]
        events.append(
            ConversionEvent(
                workspace=workspace,
                conversion_id=row.pk,
                kind=ConversionEvent.Kind.CREATED,
                before={},
                after=snapshot(row),
                created_at=now,
            )
        )
    ConversionEvent.objects.bulk_create(events, batch_size=1000)
    return len(events), leftovers


def _single_offers(connection, members) -> dict:
    """member id -> their offer on this connection, when they have exactly one (as record_conversion)."""
    member_ids = [m.id for m in members]
    if not member_ids:
        return {}
    found = defaultdict(set)
    offers = {}
    for link in Link.objects.filter(member_id__in=member_ids, offer__connection=connection).select_related("offer"):
        found[link.member_id].add(link.offer_id)
        offers[link.offer_id] = link.offer
    return {mid: offers[next(iter(ids))] for mid, ids in found.items() if len(ids) == 1}


def _overrides(pairs) -> dict:
    pairs = {p for p in pairs if p[1] is not None}
    if not pairs:
        return {}
    offer_ids = {o for o, _ in pairs}
    member_ids = {m for _, m in pairs}
    return {
        (o.offer_id, o.member_id): Terms(o.payout_type, o.payout_flat, o.payout_percent, "override")
        for o in PayoutOverride.objects.filter(offer_id__in=offer_ids, member_id__in=member_ids)
        if (o.offer_id, o.member_id) in pairs
    }
