"""Storing what a network's API reports, the same for every network.

A sync hands a page of records (as tracking's ConversionData) to ``store_records``: in one
transaction, records whose conversion already says the same are counted unchanged without
a write, new ones are inserted in bulk (networks/bulk.py), and the rest go through
tracking's record_conversion one by one, so every network's records follow the conversion
core's rules (a pixel's conversion adopted, a second sale on a click kept, status and
amounts moved with history and outbox events). ``store_changes`` applies changes a network
reports on their own (ShareASale's voids and edits) to conversions already stored.
``record_payouts`` and ``record_paid_transactions`` keep what the network says it paid, for
matching against expected settlements.
"""

from decimal import Decimal
from itertools import islice

from django.db import transaction
from django.db.models import Sum

from networks import bulk
from networks.models import NetworkPayout, NetworkPayoutLine, SyncRun
from offers.models import NetworkConnection
from tracking.models import Conversion, ConversionSource
from tracking.reported import ConversionData
from tracking.services import record_conversion

# What storing a page changes on its run (saved with update_fields: the run row is shared with the page views).
COUNTS = [
    "created_count",
    "updated_count",
    "unchanged_count",
    "duplicate_count",
    "rejected_count",
    "pages_done",
    "pages_total",
]


def is_unchanged(conversion: Conversion, data: ConversionData) -> bool:
    return (
        conversion.status == data.status
        and (data.sale_amount is None or conversion.sale_amount == data.sale_amount)
        and (data.network_payout is None or conversion.network_payout == data.network_payout)
        and (data.locking_at is None or conversion.locking_at == data.locking_at)
    )


def _stored(connection: NetworkConnection, keys: list[str], *fields: str) -> dict[str, Conversion]:
    return {
        c.dedupe_key: c
        for c in Conversion.objects.filter(
            workspace_id=connection.workspace_id, network=connection.kind, dedupe_key__in=keys
        ).only("dedupe_key", *fields)
    }


def store_records(*, run: SyncRun, connection: NetworkConnection, items: list[ConversionData]) -> None:
    """One page of records (each with the network's conversion id) in one transaction."""
    with transaction.atomic():
        existing = _stored(
            connection,
            [d.dedupe_key for d in items],
            "status",
            "sale_amount",
            "network_payout",
            "locking_at",
        )
        new, changed, seen = [], [], set()
        for data in items:
            current = existing.get(data.dedupe_key)
            if current is not None and is_unchanged(current, data):
                run.unchanged_count += 1
            elif current is None and data.dedupe_key not in seen:
                new.append(data)
            else:
                changed.append(data)
            seen.add(data.dedupe_key)
        created, leftovers = bulk.insert_new_conversions(
            connection=connection, items=new, source=ConversionSource.API_SYNC
        )
        run.created_count += created
        for data in leftovers + changed:
            count(run, record_conversion(connection=connection, data=data, source=ConversionSource.API_SYNC))
        run.pages_done += 1
        run.save(update_fields=[*COUNTS, "note", "updated_at"])


def store_changes(*, run: SyncRun, connection: NetworkConnection, items: list[ConversionData]) -> int:
    """Changes to conversions already stored, in one transaction; returns how many named a
    conversion not stored yet (skipped: the network's own listing brings it, changes included)."""
    with transaction.atomic():
        known = set(_stored(connection, [d.dedupe_key for d in items]))
        unknown = 0
        for data in items:
            if data.dedupe_key not in known:
                unknown += 1
                continue
            count(run, record_conversion(connection=connection, data=data, source=ConversionSource.API_SYNC))
        run.pages_done += 1
        run.save(update_fields=[*COUNTS, "note", "updated_at"])
    return unknown


def count(run: SyncRun, result) -> None:
    """Add one record_conversion result to the run's counts (a duplicate of another conversion
    and a refusal also name the record in the run's note)."""
    outcome = result.outcome
    if outcome in ("accepted", "unattributed"):
        run.created_count += 1
    elif outcome == "updated":
        run.updated_count += 1
    elif outcome == "duplicate" and result.repeat:
        run.unchanged_count += 1
    elif outcome == "duplicate":
        run.duplicate_count += 1
        run.note = f"Record {result.conversion.external_id if result.conversion else ''}: {result.reason}"[:500]
    else:
        run.rejected_count += 1
        run.note = f"Record {result.conversion.external_id if result.conversion else ''}: {result.reason}"[:500]


def reject(run: SyncRun, message: str, *, rows: int = 1) -> None:
    """Records the network sent that cannot be read: counted, and described in the note."""
    run.rejected_count += rows
    run.note = message[:500]


def pages(items, size: int = 2000):
    """Lists of ``size`` from a streamed iterable: a page is stored (and freed) before the next is read."""
    iterator = iter(items)
    while page := list(islice(iterator, size)):
        yield page


def record_payouts(*, connection: NetworkConnection, payments) -> int:
    """Store payments the network reports (ShareASale's payment rows), once per reference;
    returns how many were new."""
    new = 0
    for payment in payments:
        _, created = NetworkPayout.objects.get_or_create(
            connection=connection,
            reference=str(payment.reference)[:120],
            defaults={
                "workspace_id": connection.workspace_id,
                "paid_on": payment.date,
                "amount": payment.amount,
                "currency": (payment.currency or connection.currency).upper(),
                "raw": {k: str(v) for k, v in (payment.raw or {}).items()},
            },
        )
        new += created
    return new


def record_paid_transactions(*, connection: NetworkConnection, paid: dict[str, dict[str, Decimal]], today) -> None:
    """Add paid transactions to their payment (Awin: {paymentId: {transaction id: commission}}).

    Awin has no payment report: a payment is the sum of the commissions its transactions
    carry. Each transaction is a line of its payment, once however many windows bring it
    again; the payment is dated the day a sync first saw it paid.
    """
    for reference, transactions in paid.items():
        with transaction.atomic():
            payout, _ = NetworkPayout.objects.select_for_update().get_or_create(
                connection=connection,
                reference=reference[:120],
                defaults={
                    "workspace_id": connection.workspace_id,
                    "paid_on": today,
                    "amount": Decimal("0.00"),
                    "currency": connection.currency,
                },
            )
            NetworkPayoutLine.objects.bulk_create(
                [
                    NetworkPayoutLine(payout=payout, external_id=tx[:255], amount=amount)
                    for tx, amount in transactions.items()
                ],
                ignore_conflicts=True,
            )
            total = payout.lines.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
            if total != payout.amount:
                payout.amount = total
                payout.save(update_fields=["amount", "updated_at"])
