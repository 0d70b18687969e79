"""Conversion services: record, update, re-attribute and re-price conversions.

Every function here runs in one transaction and writes, beside the change
itself, one ConversionChange (history) and one ConversionEvent (the outbox the
payments app consumes) for every money-relevant change.

Status rules: pending -> approved -> reversed, never backwards; rejected is
final; approved may still become rejected (a network may reject after
approving, which the ledger treats like a reversal).
"""

from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from django.db import IntegrityError, transaction
from django.db import connection as db
from django.utils import timezone

from offers.models import Member, NetworkConnection, Offer, PayoutOverride
from offers.payouts import Payout, compute_payout, no_offer_payout, terms_for, terms_from_basis
from tracking import sql
from tracking.clicks import store_buffered_click
from tracking.models import (
    Click,
    Conversion,
    ConversionChange,
    ConversionEvent,
    ConversionSource,
    ConversionStatus,
    PostbackLog,
)
from tracking.postbacks import MAX_AMOUNT, ConversionData
from workspaces.errors import DomainError
from workspaces.models import Workspace

Outcome = PostbackLog.Outcome

# How far along its life a status is; a conversion only moves to a higher rank.
STATUS_RANK = {
    ConversionStatus.PENDING: 0,
    ConversionStatus.APPROVED: 1,
    ConversionStatus.REVERSED: 2,
    ConversionStatus.REJECTED: 2,
}
FINAL_STATUSES = {ConversionStatus.REVERSED, ConversionStatus.REJECTED}


@dataclass
class RecordResult:
    conversion: Conversion | None
    outcome: str  # a PostbackLog.Outcome value
    reason: str = ""
    # The history entry of an update, written once the postback log row exists.
    change: dict | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class HitLookup:
    """What find_connection read ahead for one hit: the stored click for ``transaction_id``
    (None: none stored) and the stored conversion for ``dedupe_key`` (None: none yet)."""

    transaction_id: str
    click: Click | None
    dedupe_key: str = ""
    conversion: Conversion | None = None

    def conversion_for(self, dedupe_key: str) -> Conversion | None | bool:
        """The stored conversion for ``dedupe_key``, None when there was none, False when not looked up."""
        if not self.dedupe_key or self.dedupe_key != dedupe_key[:300]:
            return False
        return self.conversion


def find_connection(
    *, secret: str, transaction_id: str = "", dedupe_key: str = ""
) -> tuple[NetworkConnection | None, HitLookup | None]:
    """The connection whose postback secret is ``secret``, with its workspace, the stored
    click for ``transaction_id`` in that workspace and the conversion already stored for
    ``dedupe_key`` on that connection's network, all in one query.

    The lookup part is None when neither a transaction id nor a dedupe key was given.
    """
    dedupe_key = dedupe_key[:300]
    found = sql.fetch_one(
        _connection_sql(),
        [transaction_id, dedupe_key, secret],
        NetworkConnection,
        Workspace,
        Click,
        Offer,
        Member,
        Conversion,
    )
    if found is None:
        return None, None
    (connection, workspace, click, offer, member, conversion), (has_override,) = found
    NetworkConnection.workspace.field.set_cached_value(connection, workspace)
    if not transaction_id and not dedupe_key:
        return connection, None
    click = _with_relations(click, offer, member, has_override) if _is_click_id(transaction_id) else None
    return connection, HitLookup(transaction_id, click, dedupe_key, conversion if dedupe_key else None)


def find_click(*, workspace, transaction_id: str, lookup: HitLookup | None = None) -> Click | None:
    """Our click for ``transaction_id`` in ``workspace``, with its offer and member.

    One query for a stored click (none when ``lookup`` already holds the answer for this
    transaction id). A click still in the Redis buffer is stored on the spot by the click
    service, then read like any other.
    """
    if not _is_click_id(transaction_id):
        return None
    if lookup is not None and lookup.transaction_id == transaction_id:
        click = lookup.click
    else:
        click = _stored_click(workspace.pk, transaction_id)
    if click is None and store_buffered_click(workspace_id=workspace.pk, transaction_id=transaction_id):
        click = _stored_click(workspace.pk, transaction_id)
    return click


def _is_click_id(transaction_id: str) -> bool:
    return bool(transaction_id) and len(transaction_id) <= Click._meta.get_field("transaction_id").max_length


# Whether the member has a payout override on the offer comes along with a click, so
# pricing a conversion needs no further query in the usual case (no override).
_CLICK_COLUMNS = "{click}, {offer}, {member}"
_OVERRIDE_FLAG = "EXISTS (SELECT 1 FROM {override} p WHERE p.offer_id = k.offer_id AND p.member_id = k.member_id)"
_CLICK_JOINS = "{click_table} k JOIN {offer_table} o ON o.id = k.offer_id JOIN {member_table} m ON m.id = k.member_id"


def _click_parts() -> dict:
    return {
        "click": sql.columns(Click, "k"),
        "offer": sql.columns(Offer, "o"),
        "member": sql.columns(Member, "m"),
        "override": sql.table(PayoutOverride),
        "click_table": sql.table(Click),
        "offer_table": sql.table(Offer),
        "member_table": sql.table(Member),
    }


@lru_cache(maxsize=1)
def _click_sql() -> str:
    parts = _click_parts()
    return (
        f"SELECT {_CLICK_COLUMNS.format(**parts)}, {_OVERRIDE_FLAG.format(**parts)} "
        f"FROM {_CLICK_JOINS.format(**parts)} "
        "WHERE k.workspace_id = %s AND k.transaction_id = %s"
    )


@lru_cache(maxsize=1)
def _connection_sql() -> str:
    parts = _click_parts()
    return (
        f"SELECT {sql.columns(NetworkConnection, 'c')}, {sql.columns(Workspace, 'w')}, "
        f"{_CLICK_COLUMNS.format(**parts)}, {sql.columns(Conversion, 'v')}, {_OVERRIDE_FLAG.format(**parts)} "
        f"FROM {sql.table(NetworkConnection)} c JOIN {sql.table(Workspace)} w ON w.id = c.workspace_id "
        f"LEFT JOIN ({_CLICK_JOINS.format(**parts)}) ON k.workspace_id = c.workspace_id AND k.transaction_id = %s "
        f"LEFT JOIN {sql.table(Conversion)} v "
        "ON v.workspace_id = c.workspace_id AND v.network = c.kind AND v.dedupe_key = %s "
        "WHERE c.postback_secret = %s"
    )


def _stored_click(workspace_id: int, transaction_id: str) -> Click | None:
    found = sql.fetch_one(_click_sql(), [workspace_id, transaction_id], Click, Offer, Member)
    if found is None:
        return None
    (click, offer, member), (has_override,) = found
    return _with_relations(click, offer, member, has_override)


def _with_relations(click, offer, member, has_override) -> Click | None:
    if click is None:
        return None
    Click.offer.field.set_cached_value(click, offer)
    Click.member.field.set_cached_value(click, member)
    click.has_payout_override = bool(has_override)
    return click


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


def record_conversion(
    *,
    connection: NetworkConnection,
    data: ConversionData,
    source: str,
    postback: PostbackLog | None = None,
    actor: str = "",
    lookup: HitLookup | None = None,
) -> RecordResult:
    """Create or update the conversion ``data`` describes; idempotent under retries.

    1. Check the values; attribute: the click by transaction_id (then its member and
       offer), without one the member by affiliate_id; price the member's payout.
    2. Insert. The unique constraints (dedupe key; one conversion per transaction id
       unless the offer allows several) decide whether it is new. On PostgreSQL one
       statement inserts the conversion, its outbox event and the postback log row,
       or nothing when the conversion exists (tracking/sql.py).
    3. An existing conversion that the data would not change is a duplicate, decided
       without a lock. Otherwise, in a transaction, the row is locked and forward
       status moves and amount changes are applied, with history and event.
    4. When ``postback`` (a PostbackLog, saved or not) is given, it is saved with the
       outcome, reason and conversion, in the same transaction as the change.

    ``lookup`` is what find_connection read ahead for this hit: the click, and the
    conversion already stored under this dedupe key (a retry is then answered with one
    write, its log row).
    """
    problem = _problem(data)
    if problem:
        result = RecordResult(None, Outcome.REJECTED, problem)
        _save_log(postback, connection, result)
        return result

    # Whether a stored conversion is known to conflict and has been found to change:
    # then the locked update follows directly, with no insert attempt and no re-read.
    conflict_known = False
    known = lookup.conversion_for(data.dedupe_key) if lookup is not None else False
    if known and (postback is None or postback.pk is None):
        # The usual retry: the conversion exists and this hit changes nothing on it.
        duplicate = _unchanged_duplicate(connection=connection, data=data, existing=known)
        if duplicate is not None:
            _save_log(postback, connection, duplicate)
            return duplicate
        conflict_known = True

    conversion, notes = _new_conversion(connection=connection, data=data, source=source, lookup=lookup)
    reason = "; ".join(notes.values())
    if conversion.member_id is None:
        created = RecordResult(conversion, Outcome.UNATTRIBUTED, reason or "no click or member matched")
    else:
        created = RecordResult(conversion, Outcome.ACCEPTED, reason)
    if not conflict_known and _one_statement_writes(postback):
        event = _created_event(conversion)
        if postback is not None:
            _fill_log(postback, connection, created)
        with _savepoint_if_in_transaction():
            inserted = sql.insert_new_conversion(conversion, event, postback)
        if inserted:
            return created
        duplicate = _unchanged_duplicate(connection=connection, data=data)
        if duplicate is not None:
            _save_log(postback, connection, duplicate)
            return duplicate
        conflict_known = True
    return _record_in_transaction(
        connection=connection,
        data=data,
        source=source,
        postback=postback,
        actor=actor,
        conversion=conversion,
        created=created,
        conflict_known=conflict_known,
    )


def _problem(data: ConversionData) -> str:
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


def _one_statement_writes(postback: PostbackLog | None) -> bool:
    return db.vendor == "postgresql" and (postback is None or postback.pk is None)


def _savepoint_if_in_transaction():
    # Outside a transaction the statement is its own; inside one (a replay started from a
    # page, a test), a failure must not spoil the caller's transaction, which still logs the hit.
    return transaction.atomic() if db.in_atomic_block else nullcontext()


def _fill_log(postback: PostbackLog, connection: NetworkConnection, result: RecordResult) -> None:
    postback.workspace_id = connection.workspace_id
    postback.connection = connection
    postback.outcome = result.outcome
    postback.reason = result.reason[:500]
    postback.conversion = result.conversion


def _save_log(postback: PostbackLog | None, connection: NetworkConnection, result: RecordResult) -> None:
    if postback is None:
        return
    _fill_log(postback, connection, result)
    if postback.pk is not None:
        postback.save(update_fields=["workspace", "connection", "outcome", "reason", "conversion"])
    elif db.vendor == "postgresql":
        sql.insert_row(postback)
    else:
        postback.save()


def _new_conversion(*, connection: NetworkConnection, data: ConversionData, source: str, lookup=None):
    """(an unsaved Conversion, attribution notes) for ``data``, priced with today's terms."""
    workspace = connection.workspace
    click, member, offer, notes = _attribute(workspace=workspace, connection=connection, data=data, lookup=lookup)
    currency = (data.currency or connection.currency or (offer.currency if offer else "") or "USD").upper()
    sale_amount = data.sale_amount if data.sale_amount is not None else Decimal("0.00")
    network_payout = data.network_payout if data.network_payout is not None else Decimal("0.00")
    if offer is not None:
        payout = compute_payout(
            terms=terms_for(offer=offer, member=member, has_override=getattr(click, "has_payout_override", None)),
            sale_amount=sale_amount,
            network_payout=network_payout,
        )
    else:
        payout = no_offer_payout("unattributed: no click or member matched")
    conversion = Conversion(
        workspace=workspace,
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
        event_at=data.event_at or timezone.now(),
        locking_at=data.locking_at,
        affiliate_id_given=data.affiliate_id[:64],
        affiliate_mismatch="affiliate_mismatch" in notes,
    )
    return conversion, notes


def _created_event(conversion: Conversion) -> ConversionEvent:
    return ConversionEvent(
        workspace_id=conversion.workspace_id,
        conversion=conversion,
        kind=ConversionEvent.Kind.CREATED,
        before={},
        after=snapshot(conversion),
    )


@transaction.atomic
def _record_in_transaction(
    *, connection, data, source, postback, actor, conversion, created: RecordResult, conflict_known: bool
) -> RecordResult:
    result = _insert_or_update(
        connection=connection, data=data, conversion=conversion, created=created, conflict_known=conflict_known
    )
    _save_log(postback, connection, result)
    if result.change is not None:
        ConversionChange.objects.create(
            workspace_id=connection.workspace_id,
            conversion=result.conversion,
            source=source,
            postback=postback,
            changes=result.change,
            actor=actor[:150],
        )
    return result


def _insert_or_update(*, connection, data, conversion, created: RecordResult, conflict_known: bool) -> RecordResult:
    key = data.dedupe_key
    # A conflicting row that a concurrent transaction then rolled back is gone when
    # we look for it; the insert is simply tried again.
    for attempt in range(3):
        if attempt > 0 or not conflict_known:
            try:
                with transaction.atomic():
                    conversion.save(force_insert=True)
            except IntegrityError:
                conversion.pk = None
            else:
                event = _created_event(conversion)
                event.save(force_insert=True)
                return created
        # On the first pass with a known conflict the unlocked duplicate check already ran.
        checked = attempt == 0 and conflict_known
        result = _update_existing(connection=connection, data=data, key=key, duplicate_checked=checked)
        if result is not None:
            return result
    raise DomainError("The conversion kept conflicting with concurrent writes; try again.")


def _unchanged_duplicate(*, connection, data, existing: Conversion | None = None) -> RecordResult | None:
    """The outcome for data that changes nothing on the stored conversion (no lock, no write), else None.

    ``existing`` is that conversion when the caller has read it already.
    """
    if existing is None:
        key = [connection.workspace_id, connection.kind, data.dedupe_key[:300]]
        found = sql.fetch_one(_existing_sql(), key, Conversion)
        if found is None:
            return None
        (existing,), _ = found
    if _would_change(existing, data):
        return None
    return _apply(conversion=existing, data=data, workspace=connection.workspace)


@lru_cache(maxsize=1)
def _existing_sql() -> str:
    return (
        f"SELECT {sql.columns(Conversion, 'c')} FROM {sql.table(Conversion)} c "
        "WHERE c.workspace_id = %s AND c.network = %s AND c.dedupe_key = %s"
    )


def _attribute(*, workspace, connection, data, lookup=None):
    """(click, member, offer, notes) for a reported conversion; notes explain what did not line up."""
    notes: dict[str, str] = {}
    click = member = offer = None
    if data.transaction_id:
        click = find_click(workspace=workspace, transaction_id=data.transaction_id, lookup=lookup)
    if click is not None:
        member, offer = click.member, click.offer
        if data.affiliate_id and data.affiliate_id != member.affiliate_id:
            notes["affiliate_mismatch"] = (
                f"affiliate_id {data.affiliate_id[:40]} does not match the click's member ({member.affiliate_id})"
            )
        if offer.connection_id and offer.connection_id != connection.pk:
            # Usually a postback URL pasted into the wrong network; the sale still counts.
            notes["other_connection"] = "the click's offer is set up with another network connection"
        return click, member, offer, notes
    if data.transaction_id:
        notes["unknown_transaction"] = f"unknown transaction_id {data.transaction_id[:64]}"
    if data.affiliate_id:
        member = Member.objects.filter(workspace=workspace, affiliate_id=data.affiliate_id).first()
        if member is None:
            notes["unknown_affiliate"] = f"unknown affiliate_id {data.affiliate_id[:40]}"
        else:
            notes.pop("unknown_transaction", None)
            offer = _offer_for_member(connection=connection, member=member)
    return click, member, offer, notes


def _offer_for_member(*, connection, member) -> Offer | None:
    """The member's offer on this connection, when there is exactly one (affiliate-id postbacks)."""
    offers = list(
        Offer.objects.filter(workspace_id=member.workspace_id, connection=connection, links__member=member)
        .distinct()
        .order_by("id")[:2]
    )
    return offers[0] if len(offers) == 1 else None


def _update_existing(*, connection, data, key, duplicate_checked: bool = False) -> RecordResult | None:
    """Apply ``data`` to the conversion that made the insert conflict (None: it vanished, insert again)."""
    workspace = connection.workspace
    if not duplicate_checked:
        # Retries of one postback are the common case: decide "nothing to change" on the committed
        # row without a lock, so concurrent duplicates do not queue behind each other's row lock.
        duplicate = _unchanged_duplicate(connection=connection, data=data)
        if duplicate is not None:
            return duplicate
    existing = Conversion.objects.filter(workspace=workspace, network=connection.kind, dedupe_key=key[:300])
    conversion = existing.select_for_update().first()
    if conversion is None:
        # The dedupe key is new, so the conflict is the one-per-transaction rule.
        other = (
            Conversion.objects.filter(
                workspace=workspace,
                network=connection.kind,
                transaction_id=data.transaction_id,
                single_per_transaction=True,
            )
            .exclude(transaction_id="")
            .first()
        )
        if other is None:
            return None
        label = other.external_id or other.transaction_id
        return RecordResult(
            other,
            Outcome.DUPLICATE,
            f"offer allows one conversion per click; transaction already converted as {label}",
        )

    return _apply(conversion=conversion, data=data, workspace=workspace)


def _would_change(conversion: Conversion, data: ConversionData) -> bool:
    if data.currency and data.currency.upper() != conversion.currency:
        return False  # refused either way
    if data.status and data.status != conversion.status and _moves_forward(conversion.status, data.status):
        return True
    for name in ("sale_amount", "network_payout"):
        value = getattr(data, name)
        if value is not None and value != getattr(conversion, name):
            return True
    return bool(data.locking_at and data.locking_at != conversion.locking_at)


def _apply(*, conversion: Conversion, data: ConversionData, workspace) -> RecordResult:
    """Apply forward status moves and amount changes to ``conversion`` (locked when anything changes)."""
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

    if data.status and data.status != conversion.status:
        if _moves_forward(conversion.status, data.status):
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
        payout = _reprice_with_stored_terms(conversion)
        if payout.amount != conversion.member_payout:
            changes["member_payout"] = [str(conversion.member_payout), str(payout.amount)]
            conversion.member_payout = payout.amount
            fields.append("member_payout")
        conversion.payout_basis = payout.basis
        fields.append("payout_basis")
    if data.locking_at and data.locking_at != conversion.locking_at:
        conversion.locking_at = data.locking_at
        fields.append("locking_at")

    if not changes:
        if fields:
            conversion.save(update_fields=[*fields, "updated_at"])
        return RecordResult(conversion, Outcome.DUPLICATE, "; ".join(reasons))

    conversion.save(update_fields=[*fields, "updated_at"])
    kind = ConversionEvent.Kind.STATUS_CHANGED if "status" in changes else ConversionEvent.Kind.AMOUNT_CHANGED
    ConversionEvent.objects.create(
        workspace=workspace, conversion=conversion, kind=kind, before=before, after=snapshot(conversion)
    )
    return RecordResult(conversion, Outcome.UPDATED, "; ".join(reasons), change=changes)


def _moves_forward(current: str, new: str) -> bool:
    if current in FINAL_STATUSES:
        return False
    return STATUS_RANK[new] > STATUS_RANK[current]


def _reprice_with_stored_terms(conversion: Conversion) -> Payout:
    terms = terms_from_basis(conversion.payout_basis)
    if terms is None:
        return no_offer_payout(conversion.payout_basis.get("formula") or "no payout terms")
    return compute_payout(terms=terms, sale_amount=conversion.sale_amount, network_payout=conversion.network_payout)


def _lock(conversion: Conversion) -> Conversion:
    return Conversion.objects.select_for_update().get(pk=conversion.pk)


@transaction.atomic
def change_conversion_status(
    *, conversion: Conversion, status: str, reason: str = "", actor: str = "", source: str = ConversionSource.MANUAL
) -> Conversion:
    """Move a conversion to ``status`` (forward only); raises DomainError otherwise."""
    if status not in STATUS_RANK:
        raise DomainError(f"Unknown status {status!r}.")
    conversion = _lock(conversion)
    if status == conversion.status:
        raise DomainError(f"The conversion is already {conversion.get_status_display().lower()}.")
    if not _moves_forward(conversion.status, status):
        raise DomainError(
            f"A {conversion.get_status_display().lower()} conversion cannot become {status}: "
            "statuses only move forward (pending, approved, reversed; rejected is final)."
        )
    before = snapshot(conversion)
    old = conversion.status
    conversion.status = status
    conversion.status_reason = reason[:500]
    conversion.save(update_fields=["status", "status_reason", "updated_at"])
    ConversionChange.objects.create(
        workspace_id=conversion.workspace_id,
        conversion=conversion,
        source=source,
        changes={"status": [old, status]},
        note=reason[:500],
        actor=actor[:150],
    )
    ConversionEvent.objects.create(
        workspace_id=conversion.workspace_id,
        conversion=conversion,
        kind=ConversionEvent.Kind.STATUS_CHANGED,
        before=before,
        after=snapshot(conversion),
    )
    return conversion


@transaction.atomic
def reattribute_conversion(
    *, conversion: Conversion, click: Click | None = None, member: Member | None = None, actor: str = ""
) -> Conversion:
    """Attribute a conversion to ``click`` (its member and offer) or to ``member``, and re-price it.

    With a member alone, the offer is kept when the conversion has one, else the
    member's single offer on the conversion's connection (none: it earns nothing).
    """
    if (click is None) == (member is None):
        raise DomainError("Choose either a click or a member.")
    conversion = _lock(conversion)
    if click is not None:
        if click.workspace_id != conversion.workspace_id:
            raise DomainError("That click is not in this workspace.")
        new_click, new_member, new_offer = click, click.member, click.offer
    else:
        if member.workspace_id != conversion.workspace_id:
            raise DomainError("That member is not in this workspace.")
        new_click, new_member = None, member
        new_offer = conversion.offer
        if new_offer is None and conversion.connection_id:
            new_offer = _offer_for_member(connection=conversion.connection, member=member)
    if (new_click, new_member, new_offer) == (conversion.click, conversion.member, conversion.offer):
        raise DomainError("The conversion is already attributed that way.")

    before = snapshot(conversion)
    changes = {
        "member": [_member_label(conversion.member), _member_label(new_member)],
        "click": [
            conversion.click.transaction_id if conversion.click else None,
            new_click.transaction_id if new_click else None,
        ],
    }
    conversion.click, conversion.member, conversion.offer = new_click, new_member, new_offer
    conversion.affiliate_mismatch = False
    payout = _current_payout(conversion)
    if payout.amount != conversion.member_payout:
        changes["member_payout"] = [str(conversion.member_payout), str(payout.amount)]
    conversion.member_payout, conversion.payout_basis = payout.amount, payout.basis
    conversion.save(
        update_fields=["click", "member", "offer", "affiliate_mismatch", "member_payout", "payout_basis", "updated_at"]
    )
    ConversionChange.objects.create(
        workspace_id=conversion.workspace_id,
        conversion=conversion,
        source=ConversionSource.MANUAL,
        changes=changes,
        note="re-attributed",
        actor=actor[:150],
    )
    ConversionEvent.objects.create(
        workspace_id=conversion.workspace_id,
        conversion=conversion,
        kind=ConversionEvent.Kind.ATTRIBUTED,
        before=before,
        after=snapshot(conversion),
    )
    return conversion


@transaction.atomic
def recompute_member_payout(*, conversion: Conversion, actor: str = "") -> Conversion:
    """Re-price a conversion with its offer's and member's CURRENT payout terms."""
    conversion = _lock(conversion)
    before = snapshot(conversion)
    payout = _current_payout(conversion)
    old = conversion.member_payout
    conversion.member_payout, conversion.payout_basis = payout.amount, payout.basis
    conversion.save(update_fields=["member_payout", "payout_basis", "updated_at"])
    if payout.amount == old:
        return conversion
    ConversionChange.objects.create(
        workspace_id=conversion.workspace_id,
        conversion=conversion,
        source=ConversionSource.MANUAL,
        changes={"member_payout": [str(old), str(payout.amount)]},
        note="payout recomputed with current terms",
        actor=actor[:150],
    )
    ConversionEvent.objects.create(
        workspace_id=conversion.workspace_id,
        conversion=conversion,
        kind=ConversionEvent.Kind.AMOUNT_CHANGED,
        before=before,
        after=snapshot(conversion),
    )
    return conversion


def _current_payout(conversion: Conversion) -> Payout:
    if conversion.offer_id is None:
        return no_offer_payout("no offer: the conversion earns nothing until attributed to an offer")
    terms = terms_for(offer=conversion.offer, member=conversion.member)
    return compute_payout(terms=terms, sale_amount=conversion.sale_amount, network_payout=conversion.network_payout)


def _member_label(member: Member | None) -> str | None:
    return f"{member.name} ({member.affiliate_id})" if member else None
