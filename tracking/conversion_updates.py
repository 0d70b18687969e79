"""A stored conversion taking a later report: status moves, amount changes, adoption, and
what a conflicting insert means.

The rules are tracking/attribution.py's (its docstring has the dedupe rules these follow);
tracking/services/conversions.py runs them in transactions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from offers.payouts import (
    Payout,
    compute_payout,
    item_payout_from_lines,
    no_offer_payout,
    priced_amounts,
    terms_from_basis,
)
from tracking.attribution import (
    KEY_LENGTH,
    STATUS_RANK,
    Outcome,
    RecordResult,
    label,
    lock_on_approval,
    snapshot,
    write_event,
)
from tracking.models import Conversion, ConversionAlias, ConversionEvent, ConversionSource, ConversionStatus
from tracking.reported import ConversionData

FINAL_STATUSES = {ConversionStatus.REVERSED, ConversionStatus.REJECTED}


# --- status and amount changes ----------------------------------------------------


def moves(current: str, new: str, *, authoritative: bool = False) -> bool:
    """Whether a conversion in ``current`` may take ``new``.

    Forward only, except that a network's own record (``authoritative``) may re-open an
    approved conversion as pending: Impact does so when it modifies an action.
    """
    if new == current or current in FINAL_STATUSES:
        return False
    if authoritative and current == ConversionStatus.APPROVED and new == ConversionStatus.PENDING:
        return True
    return STATUS_RANK[new] > STATUS_RANK[current]


def would_change(conversion: Conversion, data: ConversionData, *, authoritative: bool = False) -> bool:
    if data.currency and data.currency.upper() != conversion.currency:
        return False  # refused either way
    if data.status and moves(conversion.status, data.status, authoritative=authoritative):
        return True
    for name in ("sale_amount", "network_payout"):
        value = getattr(data, name)
        if value is not None and value != getattr(conversion, name):
            return True
    return bool(data.locking_at and data.locking_at != conversion.locking_at)


def reprice_with_stored_terms(conversion: Conversion) -> Payout:
    terms = terms_from_basis(conversion.payout_basis)
    if terms is None:
        return no_offer_payout(conversion.payout_basis.get("formula") or "no payout terms")
    lines = conversion.payout_basis.get("items")
    if lines:
        priced_sale, priced_network = priced_amounts(conversion)
        return item_payout_from_lines(
            terms=terms,
            lines=lines,
            sale_amount=conversion.sale_amount,
            network_payout=conversion.network_payout,
            priced_sale=priced_sale,
            priced_network=priced_network,
        )
    return compute_payout(terms=terms, sale_amount=conversion.sale_amount, network_payout=conversion.network_payout)


def apply_update(
    *, conversion: Conversion, data: ConversionData, authoritative: bool = False, adopting: bool = False
) -> RecordResult:
    """Apply ``data``'s status and amounts to ``conversion`` (locked by the caller when anything changes).

    Writes the outbox event here; the history entry travels in the result, written by
    the caller once the postback log row exists. ``adopting`` also gives the conversion
    ``data``'s network id (rule 3 of tracking/attribution.py).
    """
    changes: dict[str, list] = {}
    reasons: list[str] = []
    before = snapshot(conversion)
    fields: list[str] = []

    if data.currency and data.currency.upper() != conversion.currency:
        return RecordResult(
            conversion,
            Outcome.REJECTED,
            f"currency {data.currency.upper()} differs from the conversion's {conversion.currency}",
        )
    old_key = conversion.dedupe_key
    if adopting:
        changes["external_id"] = [conversion.external_id, data.external_id]
        conversion.external_id = data.external_id
        conversion.dedupe_key = data.dedupe_key[:KEY_LENGTH]
        fields += ["external_id", "dedupe_key"]
        reasons.append(f"network record {data.external_id[:60]} adopted conversion {old_key[:60]}")

    if data.status and data.status != conversion.status:
        if moves(conversion.status, data.status, authoritative=authoritative):
            changes["status"] = [conversion.status, data.status]
            conversion.status = data.status
            fields.append("status")
        else:
            reasons.append(f"status {data.status} ignored: conversion is already {conversion.status}")

    amounts_changed = False
    for name in ("sale_amount", "network_payout"):
        value = getattr(data, name)
        if value is not None and value != getattr(conversion, name):
            changes[name] = [str(getattr(conversion, name)), str(value)]
            setattr(conversion, name, value)
            fields.append(name)
            amounts_changed = True
    if amounts_changed:
        # The terms stay those the conversion was first priced with; only the inputs changed.
        payout = reprice_with_stored_terms(conversion)
        if payout.amount != conversion.member_payout:
            changes["member_payout"] = [str(conversion.member_payout), str(payout.amount)]
            conversion.member_payout = payout.amount
            fields.append("member_payout")
        conversion.payout_basis = payout.basis
        fields.append("payout_basis")
    locking_at = data.locking_at or conversion.locking_at or lock_on_approval(conversion.status, timezone.now())
    if locking_at != conversion.locking_at:
        conversion.locking_at = locking_at
        fields.append("locking_at")

    if not changes:
        if fields:
            conversion.save(update_fields=[*fields, "updated_at"])
        return RecordResult(
            conversion,
            Outcome.DUPLICATE,
            "; ".join([f"repeat of conversion {label(conversion)}", *reasons]),
            repeat=True,
        )

    conversion.save(update_fields=[*fields, "updated_at"])
    if adopting:
        ConversionAlias.objects.create(
            workspace_id=conversion.workspace_id, network=conversion.network, key=old_key, conversion=conversion
        )
        kind = ConversionEvent.Kind.ADOPTED
    elif "status" in changes:
        kind = ConversionEvent.Kind.STATUS_CHANGED
    else:
        kind = ConversionEvent.Kind.AMOUNT_CHANGED
    write_event(conversion=conversion, kind=kind, before=before)
    return RecordResult(conversion, Outcome.UPDATED, "; ".join(reasons), change=changes)


# --- what a conflicting insert means ----------------------------------------------


@dataclass(frozen=True)
class Decision:
    """How to settle an insert that conflicted: apply to ``target`` (update, adopt), call
    it a duplicate of ``target``, or insert again (``retry``) with the conversion changed."""

    action: str  # "update", "adopt", "duplicate", "retry", "vanished"
    target: Conversion | None = None
    reason: str = ""


def find_by_key(*, workspace_id: int, network: str, key: str, lock: bool = True) -> tuple[Conversion | None, bool]:
    """(the conversion stored under ``key`` or adopted from it, whether through an alias)."""
    query = Conversion.objects.filter(workspace_id=workspace_id, network=network, dedupe_key=key[:KEY_LENGTH])
    conversion = (query.select_for_update() if lock else query).first()
    if conversion is not None:
        return conversion, False
    alias = (
        ConversionAlias.objects.filter(workspace_id=workspace_id, network=network, key=key[:KEY_LENGTH])
        .values_list("conversion_id", flat=True)
        .first()
    )
    if alias is None:
        return None, False
    query = Conversion.objects.filter(pk=alias)
    return (query.select_for_update() if lock else query).first(), True


def resolve(*, conversion: Conversion, data: ConversionData) -> Decision:
    """Decide what ``conversion`` (unsaved; its insert conflicted) is, under row locks.

    1. Its key is stored: the same conversion reported again, an update (or, for an
       id-less hit on a conversion a network record adopted, a duplicate of it).
    2. Else its click's id-less slot is taken by ``owner``:
       - a network record on a click whose owner came without a network id adopts it
         (so does one finding another id-less conversion of that click);
       - a network record otherwise is another sale on the click: inserted again
         without the slot;
       - an id-less hit is a duplicate of the owner, unless the offer allows several
         conversions per click (its key already tells sales apart): inserted again.
    3. Neither exists any more (a concurrent insert rolled back): insert again.
    """
    workspace_id, network = conversion.workspace_id, conversion.network
    stored, via_alias = find_by_key(workspace_id=workspace_id, network=network, key=conversion.dedupe_key)
    if stored is not None:
        if via_alias and not data.external_id:
            return Decision(
                "duplicate", stored, f"duplicate of conversion {label(stored)}, which a network record adopted"
            )
        return Decision("update", stored)
    if not conversion.single_per_transaction or not data.transaction_id:
        return Decision("vanished")
    owners = Conversion.objects.select_for_update().filter(
        workspace_id=workspace_id, network=network, transaction_id=data.transaction_id
    )
    owner = owners.filter(single_per_transaction=True).first()
    if owner is None:
        return Decision("vanished")
    if data.external_id:
        if not owner.external_id:
            return Decision("adopt", owner)
        idless = owners.filter(external_id="").exclude(pk=owner.pk).order_by("id")
        matching = idless.filter(sale_amount=data.sale_amount).first() if data.sale_amount is not None else None
        candidate = matching or idless.first()
        if candidate is not None:
            return Decision("adopt", candidate)
        conversion.single_per_transaction = False
        return Decision("retry")
    if conversion.offer is not None and conversion.offer.allow_multiple_conversions:
        conversion.single_per_transaction = False
        return Decision("retry")
    return Decision(
        "duplicate",
        owner,
        f"duplicate of conversion {label(owner)}: the click already has a conversion and the offer "
        "allows one per click without a network conversion id",
    )


def is_authoritative(source: str) -> bool:
    """A network's API record states the conversion as the network has it now."""
    return source == ConversionSource.API_SYNC
