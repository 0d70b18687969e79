"""The conversion core: the rules every writer of a conversion follows.

A conversion is written three ways: the postback hot path (one SQL statement, see
tracking/sql.py), the ORM path (a locked update, or an insert that lost a race), and
network sync pages inserted in bulk (networks/bulk.py). All three take from here:

- **attribution**: our click by transaction id (its member and offer), else the member
  of the promo code the customer used (the code's offer, or the member's single offer on
  the connection), else the member by affiliate id and their single offer on the
  connection, with notes on what did not line up (``attribute`` for one hit,
  ``attribute_batch`` for a page: the same rule over the same facts, fetched in bulk).
  With a click and a code of another member, the click wins and the disagreement is
  noted (the postback log's reason, ``Conversion.promo_code_mismatch``);
- **pricing**: the member's payout from the offer's terms or the member's override, line
  by line with the offer's payout rules when the conversion comes with its items (the
  rules are read only then);
- **the dedupe decision**: which key a conversion is stored under, whether it owns
  its click's id-less slot, and what a conflicting insert means (``resolve``, in
  tracking/conversion_updates.py with the status and amount changes of rule 4);
- **the write-down**: the new row, its items, its history and its outbox event.

Dedupe rules (README, "Postbacks and pixels", has them as a table):

1. A network's conversion id (Impact ActionId, ShareASale transID, ...) is the key.
   Two different ids are two conversions, even on one click or one non-click SubId1.
2. A hit without a network id is keyed ``tid:<transaction_id>``. The first conversion
   on a transaction id owns the click's id-less slot (the partial unique constraint
   ``conversion_one_per_transaction``), so a later id-less hit on that click is a
   duplicate of it, whichever way the owner arrived. With the offer's "allow multiple
   conversions" on, id-less hits are keyed by their sale amount and event time too, and
   each different one is a conversion of its own.
3. The first network record for a click whose conversion came without a network id
   (a pixel, a ShareASale postback) *adopts* it: the conversion takes the network id,
   state, amounts and locking date, keeps its history, and the ledger gets only the
   difference. Its old key stays an alias, so a late retry of the id-less hit is still
   a duplicate of it.
4. Status moves forward (pending -> approved -> reversed; rejected is final). A network's
   API record is the network's current state, so it may also take an approved
   conversion back to pending (Impact re-opens a modified action until it locks again).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from offers.models import Link, Member, NetworkConnection, Offer, PayoutOverride, PayoutRule, PromoCode, promo_key
from offers.payouts import (
    Payout,
    Terms,
    compute_item_payout,
    compute_payout,
    item_rule,
    no_offer_payout,
    rules_for,
    terms_for,
)
from tracking.click_lookup import find_click, is_click_id
from tracking.models import (
    AttributedBy,
    Click,
    Conversion,
    ConversionChange,
    ConversionEvent,
    ConversionItem,
    ConversionStatus,
    PostbackLog,
)
from tracking.reported import MAX_AMOUNT, ConversionData

Outcome = PostbackLog.Outcome
KEY_LENGTH = 300
logger = logging.getLogger(__name__)

# How far along its life a status is; a conversion only moves to a higher rank.
STATUS_RANK = {
    ConversionStatus.PENDING: 0,
    ConversionStatus.APPROVED: 1,
    ConversionStatus.REVERSED: 2,
    ConversionStatus.REJECTED: 2,
}


# --- what a writer gets back ------------------------------------------------------


@dataclass
class RecordResult:
    conversion: Conversion | None
    outcome: str  # a PostbackLog.Outcome value
    reason: str = ""
    # The history entry of an update, written once the postback log row exists.
    change: dict | None = field(default=None, repr=False, compare=False)
    # A duplicate that is the same report again (a retry, an unchanged sync record), as
    # opposed to a duplicate of another conversion (the click's id-less slot was taken).
    repeat: bool = False


def problem_with(data: ConversionData) -> str:
    """Why ``data`` cannot be recorded at all ("" when it can)."""
    if not data.dedupe_key:
        return "missing transaction id and conversion id"
    for name in ("sale_amount", "network_payout"):
        value = getattr(data, name)
        if value is not None and not (Decimal("0") <= value <= MAX_AMOUNT):
            return f"{name} out of range"
    if data.status is not None and data.status not in STATUS_RANK:
        return f"unknown status {data.status!r}"
    if data.currency and not (len(data.currency) == 3 and data.currency.isalpha()):
        return "currency must be a 3-letter ISO code"
    return ""


def label(conversion: Conversion) -> str:
    """How logs and history name a conversion: the network's id, else our transaction id."""
    return conversion.external_id or conversion.transaction_id or str(conversion.code)


# --- finding the click --------------------------------------------------------------


@dataclass(frozen=True)
class HitLookup:
    """What the hot path read ahead for one hit: the stored click for ``transaction_id``
    (None: none stored) and the stored conversion for ``dedupe_key`` (None: none yet)."""

    transaction_id: str
    click: Click | None
    dedupe_key: str = ""
    conversion: Conversion | None = None
    # The click was looked for only in the month its id names (tracking/clicks/payload.py):
    # None there still needs a look in every month.
    month_only: bool = False

    def conversion_for(self, dedupe_key: str) -> Conversion | None | bool:
        """The stored conversion for ``dedupe_key``, None when there was none, False when not looked up."""
        if not self.dedupe_key or self.dedupe_key != dedupe_key[:KEY_LENGTH]:
            return False
        return self.conversion


# --- attribution ------------------------------------------------------------------


@dataclass
class Attribution:
    click: Click | None
    member: Member | None
    offer: Offer | None
    notes: dict[str, str]
    terms: Terms | None  # the payout terms for member x offer; None without an offer
    via: str = ""  # an AttributedBy value: what tied the conversion to its member
    rules: tuple = ()  # the offer's payout rules (ItemRule), read only for a conversion with items


def _decide(*, connection, data: ConversionData, click, member_by_affiliate, offer_for_member, promo_code_for) -> tuple:
    """The attribution rule, over facts the caller fetched: (click, member, offer, notes, via).

    Precedence: the click, then the promo code, then the affiliate id.
    ``member_by_affiliate(affiliate_id)``, ``offer_for_member(member)`` and
    ``promo_code_for(key)`` answer from a query or from a page's prefetched maps; the
    rule is the same. ``promo_code_for`` is only asked when the data carries a code.
    """
    notes: dict[str, str] = {}
    code = promo_code_for(promo_key(data.promo_code)) if data.promo_code else None
    if data.promo_code and code is None:
        notes["unknown_promo_code"] = f"unknown promo code {data.promo_code[:64]}"
    if click is not None:
        member, offer = click.member, click.offer
        if data.affiliate_id and data.affiliate_id != member.affiliate_id:
            notes["affiliate_mismatch"] = (
                f"affiliate_id {data.affiliate_id[:40]} does not match the click's member ({member.affiliate_id})"
            )
        if offer.connection_id and offer.connection_id != connection.pk:
            # Usually a postback URL pasted into the wrong network; the sale still counts.
            notes["other_connection"] = "the click's offer is set up with another network connection"
        if code is not None and code.member_id != member.pk:
            notes["promo_code_mismatch"] = (
                f"promo code {code.text} belongs to {code.member.affiliate_id}; "
                f"the click's member ({member.affiliate_id}) keeps the sale"
            )
            logger.info("connection %s: %s", connection.pk, notes["promo_code_mismatch"])
        return click, member, offer, notes, AttributedBy.CLICK
    member = offer = None
    if data.transaction_id:
        notes["unknown_transaction"] = f"unknown transaction_id {data.transaction_id[:64]}"
    if code is not None:
        notes.pop("unknown_transaction", None)
        member, offer = code.member, code.offer or offer_for_member(code.member)
        if data.affiliate_id and data.affiliate_id != member.affiliate_id:
            notes["affiliate_mismatch"] = (
                f"affiliate_id {data.affiliate_id[:40]} does not match promo code {code.text}'s member "
                f"({member.affiliate_id})"
            )
        if offer is not None and offer.connection_id and offer.connection_id != connection.pk:
            notes["other_connection"] = "the promo code's offer is set up with another network connection"
        return None, member, offer, notes, AttributedBy.CODE
    if data.affiliate_id:
        member = member_by_affiliate(data.affiliate_id)
        if member is None:
            notes["unknown_affiliate"] = f"unknown affiliate_id {data.affiliate_id[:40]}"
        else:
            notes.pop("unknown_transaction", None)
            offer = offer_for_member(member)
            return None, member, offer, notes, AttributedBy.AFFILIATE
    return None, member, offer, notes, ""


def find_promo_code(*, workspace_id: int, key: str) -> PromoCode | None:
    """The workspace's promo code whose key is ``key``, with its member and offer (one query)."""
    return PromoCode.objects.filter(workspace_id=workspace_id, key=key).select_related("member", "offer").first()


def attribute(*, connection: NetworkConnection, data: ConversionData, lookup: HitLookup | None = None) -> Attribution:
    """Attribute one reported conversion, querying what it needs (nothing more with a lookup)."""
    workspace = connection.workspace
    click = None
    if data.transaction_id:
        click = find_click(workspace=workspace, transaction_id=data.transaction_id, lookup=lookup)
    click, member, offer, notes, via = _decide(
        connection=connection,
        data=data,
        click=click,
        member_by_affiliate=lambda affiliate_id: Member.objects.filter(
            workspace=workspace, affiliate_id=affiliate_id
        ).first(),
        offer_for_member=lambda member: offer_for_member(connection=connection, member=member),
        promo_code_for=lambda key: find_promo_code(workspace_id=workspace.pk, key=key),
    )
    terms, rules = None, ()
    if offer is not None:
        terms = terms_for(offer=offer, member=member, has_override=getattr(click, "has_payout_override", None))
        rules = rules_for(offer.id) if data.items else ()
    return Attribution(click, member, offer, notes, terms, via, rules)


def offer_for_member(*, connection, member) -> Offer | None:
    """The member's offer on this connection, when there is exactly one (affiliate-id postbacks)."""
    offers = list(
        Offer.objects.filter(workspace_id=member.workspace_id, connection=connection, links__member=member)
        .distinct()
        .order_by("id")[:2]
    )
    return offers[0] if len(offers) == 1 else None


def attribute_batch(*, connection: NetworkConnection, items: list[ConversionData]) -> list[Attribution]:
    """``attribute`` for a page of records, in a handful of queries.

    Clicks still in the Redis click buffer are not looked for here; callers hand such
    records to the one-by-one path (``buffered_transaction_ids``).
    """
    workspace = connection.workspace
    tids = {d.transaction_id for d in items if is_click_id(d.transaction_id)}
    clicks = {
        c.transaction_id: c
        for c in Click.objects.filter(workspace=workspace, transaction_id__in=tids).select_related("offer", "member")
    }
    wanted = {d.affiliate_id for d in items if d.affiliate_id and d.transaction_id not in clicks}
    members = {m.affiliate_id: m for m in Member.objects.filter(workspace=workspace, affiliate_id__in=wanted)}
    keys = {promo_key(d.promo_code) for d in items if d.promo_code}
    codes = {}
    if keys:
        found = PromoCode.objects.filter(workspace=workspace, key__in=keys).select_related("member", "offer")
        codes = {code.key: code for code in found}
    code_members = [code.member for code in codes.values() if code.offer_id is None]
    single_offers = _single_offers(connection, [*members.values(), *code_members])
    decided = [
        _decide(
            connection=connection,
            data=data,
            click=clicks.get(data.transaction_id) if data.transaction_id else None,
            member_by_affiliate=members.get,
            offer_for_member=lambda member: single_offers.get(member.id),
            promo_code_for=codes.get,
        )
        for data in items
    ]
    overrides = _overrides({(offer.id, member.id) for _, member, offer, _, _ in decided if offer and member})
    rules = _rules({offer.id for data, (_, _, offer, _, _) in zip(items, decided, strict=True) if data.items and offer})
    attributions = []
    for data, (click, member, offer, notes, via) in zip(items, decided, strict=True):
        terms = None
        if offer is not None:
            terms = overrides.get((offer.id, member.id if member else None)) or Terms(
                offer.payout_type, offer.payout_flat, offer.payout_percent, "offer"
            )
        offer_rules = rules.get(offer.id, ()) if offer is not None and data.items else ()
        attributions.append(Attribution(click, member, offer, notes, terms, via, offer_rules))
    return attributions


def _rules(offer_ids) -> dict:
    """offer id -> its payout rules in order (one query, none without offers)."""
    found = defaultdict(tuple)
    if offer_ids:
        for rule in PayoutRule.objects.filter(offer_id__in=offer_ids).order_by("offer_id", "position", "id"):
            found[rule.offer_id] += (item_rule(rule),)
    return found


def _single_offers(connection, members) -> dict:
    """member id -> their offer on this connection, when they have exactly one."""
    member_ids = list({m.id for m in members})
    if not member_ids:
        return {}
    found = defaultdict(set)
    offers = {}
    for link in Link.objects.filter(member_id__in=member_ids, offer__connection=connection).select_related("offer"):
        found[link.member_id].add(link.offer_id)
        offers[link.offer_id] = link.offer
    return {mid: offers[next(iter(ids))] for mid, ids in found.items() if len(ids) == 1}


def _overrides(pairs) -> dict:
    if not pairs:
        return {}
    offer_ids = {o for o, _ in pairs}
    member_ids = {m for _, m in pairs}
    return {
        (o.offer_id, o.member_id): Terms(o.payout_type, o.payout_flat, o.payout_percent, "override")
        for o in PayoutOverride.objects.filter(offer_id__in=offer_ids, member_id__in=member_ids)
        if (o.offer_id, o.member_id) in pairs
    }


# --- the dedupe key and the new row -----------------------------------------------


def sale_key(data: ConversionData) -> str:
    """The key of an id-less hit on an offer that allows several conversions per click.

    Its sale amount and event time tell one sale from another; a retry repeats both.
    """
    fingerprint = f"{data.sale_amount if data.sale_amount is not None else ''}|"
    fingerprint += data.event_at.isoformat() if data.event_at else ""
    return f"{data.dedupe_key}#{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}"


def conversion_key(data: ConversionData, offer: Offer | None) -> str:
    if not data.external_id and offer is not None and offer.allow_multiple_conversions:
        return sale_key(data)[:KEY_LENGTH]
    return data.dedupe_key[:KEY_LENGTH]


def price(
    *,
    terms: Terms | None,
    sale_amount: Decimal,
    network_payout: Decimal,
    items=(),
    rules=(),
    priced_sale: Decimal | None = None,
    priced_network: Decimal | None = None,
) -> Payout:
    if terms is None:
        return no_offer_payout("unattributed: no click or member matched")
    if items:
        return compute_item_payout(
            terms=terms,
            rules=rules,
            items=items,
            sale_amount=sale_amount,
            network_payout=network_payout,
            priced_sale=priced_sale,
            priced_network=priced_network,
        )
    return compute_payout(terms=terms, sale_amount=sale_amount, network_payout=network_payout)


def item_rows(conversion: Conversion, data: ConversionData) -> list[ConversionItem]:
    """The unsaved item lines of a new conversion (saved already: its pk is set)."""
    return [
        ConversionItem(
            workspace_id=conversion.workspace_id,
            conversion_id=conversion.pk,
            sku=item.sku[:100],
            name=item.name[:255],
            category=item.category[:100],
            quantity=item.quantity,
            sale_amount=item.sale_amount,
            network_payout=item.network_payout,
        )
        for item in data.items
    ]


def lock_on_approval(status: str, now):
    """The locking date an approval without one gets: now.

    Settlements cover approved conversions locked before a pay date. A network that
    reports no locking date (a ShareASale postback, a generic network, a manager's
    approval) has locked the sale when it approves it; a later network record with
    its own locking date replaces this one.
    """
    return now if status == ConversionStatus.APPROVED else None


def new_conversion(
    *, connection: NetworkConnection, data: ConversionData, source: str, attribution: Attribution, now=None
) -> Conversion:
    """The unsaved conversion for ``data``: attributed, keyed and priced with today's terms.

    It claims its click's id-less slot (``single_per_transaction``); an insert that
    finds the slot taken is settled by ``resolve``.
    """
    click, member, offer = attribution.click, attribution.member, attribution.offer
    currency = (data.currency or connection.currency or (offer.currency if offer else "") or "USD").upper()
    sale_amount = data.sale_amount if data.sale_amount is not None else Decimal("0.00")
    network_payout = data.network_payout if data.network_payout is not None else Decimal("0.00")
    payout = price(
        terms=attribution.terms,
        sale_amount=sale_amount,
        network_payout=network_payout,
        items=data.items,
        rules=attribution.rules,
    )
    now = now or timezone.now()
    status = data.status or ConversionStatus.PENDING
    return Conversion(
        workspace=connection.workspace,
        connection=connection,
        network=connection.kind,
        dedupe_key=conversion_key(data, offer),
        transaction_id=data.transaction_id,
        external_id=data.external_id,
        click=click,
        offer=offer,
        member=member,
        single_per_transaction=bool(data.transaction_id),
        status=status,
        source=source,
        currency=currency,
        sale_amount=sale_amount,
        network_payout=network_payout,
        member_payout=payout.amount,
        payout_basis=payout.basis,
        event_at=data.event_at or now,
        locking_at=data.locking_at or lock_on_approval(status, now),
        affiliate_id_given=data.affiliate_id[:64],
        affiliate_mismatch="affiliate_mismatch" in attribution.notes,
        promo_code=data.promo_code[:64],
        attributed_by=attribution.via,
        promo_code_mismatch="promo_code_mismatch" in attribution.notes,
        order_ref=data.order_ref[:255],
    )


def created_result(conversion: Conversion, notes: dict[str, str]) -> RecordResult:
    reason = "; ".join(notes.values())
    if conversion.member_id is None:
        return RecordResult(conversion, Outcome.UNATTRIBUTED, reason or "no click or member matched")
    return RecordResult(conversion, Outcome.ACCEPTED, reason)


# --- the outbox and the history ---------------------------------------------------


def snapshot(conversion: Conversion) -> dict:
    """The money-relevant state of a conversion, as stored in ConversionEvent.before/after."""
    return {
        "status": conversion.status,
        "sale_amount": str(conversion.sale_amount),
        "network_payout": str(conversion.network_payout),
        "member_payout": str(conversion.member_payout),
        "member_id": conversion.member_id,
        "currency": conversion.currency,
        "connection_id": conversion.connection_id,
        "source": conversion.source,
    }


def created_event(conversion: Conversion, now=None) -> ConversionEvent:
    return ConversionEvent(
        workspace_id=conversion.workspace_id,
        conversion=conversion,
        kind=ConversionEvent.Kind.CREATED,
        before={},
        after=snapshot(conversion),
        created_at=now or timezone.now(),
    )


def write_event(*, conversion: Conversion, kind: str, before: dict) -> ConversionEvent:
    """The outbox row of a change, in the caller's transaction (the ledger posts after - before)."""
    return ConversionEvent.objects.create(
        workspace_id=conversion.workspace_id,
        conversion=conversion,
        kind=kind,
        before=before,
        after=snapshot(conversion),
    )


def write_history(*, conversion, changes: dict, source: str, note="", actor="", postback=None) -> ConversionChange:
    return ConversionChange.objects.create(
        workspace_id=conversion.workspace_id,
        conversion=conversion,
        source=source,
        postback=postback,
        changes=changes,
        note=note[:500],
        actor=actor[:150],
    )
