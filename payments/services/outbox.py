"""The outbox consumer: conversion events, in order, become ledger transactions (once each)."""

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from offers.models import Member, NetworkConnection
from payments.ledger import get_account, post_transaction
from payments.models import ZERO, AccountKind, LedgerTransaction, TxnKind
from payments.services.holds import is_held, lock_conversion
from tracking.models import Conversion, ConversionEvent, ConversionSource, ConversionStatus
from workspaces.models import Workspace

log = logging.getLogger(__name__)


def _money_effect(snapshot: dict, *, held: bool = False) -> dict[tuple, Decimal]:
    """What an approved conversion in this state is worth, per (kind, currency, owner id).

    Only approved conversions carry money: the network payout is receivable (against
    commission income) and, once attributed, the member payout is payable (against
    creator expense), or on hold while the conversion is held. Pending, reversed and
    rejected are worth nothing.
    """
    if not snapshot or snapshot.get("status") != ConversionStatus.APPROVED:
        return {}
    currency = (snapshot.get("currency") or "").upper()
    if not currency:
        return {}
    network = Decimal(snapshot.get("network_payout") or "0")
    member_payout = Decimal(snapshot.get("member_payout") or "0")
    effect: dict[tuple, Decimal] = {}
    if network and snapshot.get("connection_id"):
        effect[(AccountKind.RECEIVABLE, currency, snapshot["connection_id"])] = network
        effect[(AccountKind.INCOME, currency, None)] = -network
    if member_payout and snapshot.get("member_id"):
        effect[(AccountKind.EXPENSE, currency, None)] = member_payout
        member_kind = AccountKind.HELD if held else AccountKind.PAYABLE
        effect[(member_kind, currency, snapshot["member_id"])] = -member_payout
    return effect


def ledger_legs_for_event(*, workspace: Workspace, before: dict, after: dict, held: bool = False) -> list:
    """The legs that move the ledger from ``before``'s worth to ``after``'s.

    Posting differences makes the sum over a conversion's events telescope to its
    current worth: an amount change posts the change, a reversal posts the
    negative (after the member was paid that leaves a negative payable, a
    clawback later earnings offset), a re-attribution moves the payable.
    """
    old, new = _money_effect(before, held=held), _money_effect(after, held=held)
    legs = []
    for slot in sorted(set(old) | set(new), key=str):
        delta = new.get(slot, ZERO) - old.get(slot, ZERO)
        if not delta:
            continue
        kind, currency, owner_id = slot
        owner = {}
        if kind == AccountKind.RECEIVABLE:
            owner["connection"] = NetworkConnection.objects.get(workspace=workspace, pk=owner_id)
        elif kind in (AccountKind.PAYABLE, AccountKind.HELD):
            owner["member"] = Member.objects.get(workspace=workspace, pk=owner_id)
        legs.append((get_account(workspace=workspace, kind=kind, currency=currency, **owner), delta))
    return legs


def conversion_memo(conversion: Conversion, event: ConversionEvent) -> str:
    """What a statement line says about a conversion event, in words ("Conversion DEMO-1 approved")."""
    name = f"Conversion {conversion.external_id or conversion.transaction_id or conversion.code}"
    after = (event.after or {}).get("status", "")
    if event.kind == ConversionEvent.Kind.CREATED:
        return f"{name} recorded ({after})"
    if event.kind == ConversionEvent.Kind.STATUS_CHANGED:
        return f"{name} {'back to pending' if after == 'pending' else after}"
    if event.kind == ConversionEvent.Kind.AMOUNT_CHANGED:
        return f"{name}: amount changed"
    if event.kind == ConversionEvent.Kind.ATTRIBUTED:
        return f"{name} attributed"
    if event.kind == ConversionEvent.Kind.ADOPTED:
        return f"{name} matched to the network's record ({after})"
    return f"{name}: {event.get_kind_display().lower()}"


@transaction.atomic
def post_conversion_event(*, event: ConversionEvent) -> LedgerTransaction | None:
    """Post one event's ledger effect under "convevent:<id>" (test conversions carry no money).

    The conversion's row lock orders this posting against a hold or release of the same
    conversion (payments/services/holds.py): a held conversion's member payout goes on hold.
    """
    conversion = event.conversion
    if conversion.source == ConversionSource.TEST:
        return None
    lock_conversion(conversion.pk)
    legs = ledger_legs_for_event(
        workspace=event.workspace, before=event.before or {}, after=event.after or {}, held=is_held(conversion.pk)
    )
    txn, _ = post_transaction(
        workspace=event.workspace,
        key=f"convevent:{event.pk}",
        kind=TxnKind.CONVERSION,
        legs=legs,
        memo=conversion_memo(conversion, event),
        conversion=conversion,
    )
    return txn


def process_next_conversion_event_all_workspaces(*, after_id: int = 0) -> tuple[int, bool] | None:
    """Claim the oldest unprocessed event after ``after_id``, post it and mark it done, in one transaction.

    Returns (event id, posted), or None when nothing was left to claim. SKIP
    LOCKED lets several workers drain the outbox side by side without waiting on
    each other's rows. An event whose posting fails is rolled back to its
    savepoint and stays unprocessed (the stale-event sweeper reports it); the
    caller moves past it so it does not block the events behind it.
    """
    with transaction.atomic():
        event = (
            ConversionEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("conversion", "workspace")
            .filter(processed_at__isnull=True, id__gt=after_id)
            .order_by("id")
            .first()
        )
        if event is None:
            return None
        try:
            with transaction.atomic():
                post_conversion_event(event=event)
        except Exception:
            log.exception("could not post conversion event %s", event.pk)
            return event.pk, False
        ConversionEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now())
    return event.pk, True


def process_conversion_events_all_workspaces(*, limit: int = 500) -> int:
    """Drain up to ``limit`` events in id order; returns how many were posted."""
    processed = 0
    after_id = 0
    for _ in range(limit):
        claimed = process_next_conversion_event_all_workspaces(after_id=after_id)
        if claimed is None:
            break
        after_id, posted = claimed
        processed += posted
    return processed


def count_stale_conversion_events_all_workspaces(*, older_than: timedelta = timedelta(minutes=3)) -> int:
    return ConversionEvent.objects.filter(processed_at__isnull=True, created_at__lt=timezone.now() - older_than).count()
