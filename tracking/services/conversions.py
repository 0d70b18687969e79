"""Conversion services: record, update, re-attribute and re-price conversions.

The rules (attribution, dedupe, pricing, status moves, the outbox and history rows)
live in tracking/attribution.py and tracking/conversion_updates.py; this module runs
them in transactions. Every function here writes, beside the change itself, one
ConversionChange (history) and one ConversionEvent (the outbox the payments app
consumes) for every money-relevant change.
"""

import uuid
from contextlib import nullcontext
from functools import lru_cache

from django.db import IntegrityError, transaction
from django.db import connection as db
from django.utils import timezone

from offers.models import Member, NetworkConnection
from offers.payouts import Payout, no_offer_payout, priced_amounts, rules_for, terms_for
from tracking import attribution as core
from tracking import conversion_updates, sql
from tracking.attribution import STATUS_RANK, HitLookup, RecordResult
from tracking.click_lookup import (
    CLICK_COLUMNS,
    CLICK_JOINS,
    IN_MONTH,
    OVERRIDE_FLAG,
    click_month,
    click_sql_parts,
    is_click_id,
    with_relations,
)
from tracking.models import (
    AttributedBy,
    Click,
    Conversion,
    ConversionEvent,
    ConversionItem,
    ConversionSource,
    ConversionStatus,
    PostbackLog,
)
from tracking.reported import ConversionData
from workspaces.errors import DomainError
from workspaces.models import Workspace

Outcome = PostbackLog.Outcome


def find_connection(
    *, secret: str, transaction_id: str = "", dedupe_key: str = ""
) -> tuple[NetworkConnection | None, HitLookup | None]:
    """The connection whose postback secret is ``secret``, with its workspace, the stored
    click for ``transaction_id`` in that workspace and the conversion already stored for
    ``dedupe_key`` on that connection's network, all in one query.

    The lookup part is None when neither a transaction id nor a dedupe key was given.
    """
    dedupe_key = dedupe_key[: core.KEY_LENGTH]
    month = click_month(transaction_id)
    found = sql.fetch_one(
        _connection_sql(bool(month)),
        [transaction_id, *month, dedupe_key, secret],
        NetworkConnection,
        Workspace,
        Click,
        core.Offer,
        Member,
        Conversion,
    )
    if found is None:
        return None, None
    (connection, workspace, click, offer, member, conversion), (has_override,) = found
    NetworkConnection.workspace.field.set_cached_value(connection, workspace)
    if not transaction_id and not dedupe_key:
        return connection, None
    click = with_relations(click, offer, member, has_override) if is_click_id(transaction_id) else None
    return connection, HitLookup(
        transaction_id, click, dedupe_key, conversion if dedupe_key else None, month_only=bool(month)
    )


@lru_cache(maxsize=2)
def _connection_sql(in_month: bool) -> str:
    parts = click_sql_parts()
    return (
        f"SELECT {sql.columns(NetworkConnection, 'c')}, {sql.columns(Workspace, 'w')}, "
        f"{CLICK_COLUMNS.format(**parts)}, {sql.columns(Conversion, 'v')}, {OVERRIDE_FLAG.format(**parts)} "
        f"FROM {sql.table(NetworkConnection)} c JOIN {sql.table(Workspace)} w ON w.id = c.workspace_id "
        f"LEFT JOIN ({CLICK_JOINS.format(**parts)}) "
        "ON k.workspace_id = c.workspace_id AND k.transaction_id = %s "
        + (IN_MONTH + " " if in_month else "")
        + f"LEFT JOIN {sql.table(Conversion)} v "
        "ON v.workspace_id = c.workspace_id AND v.network = c.kind AND v.dedupe_key = %s "
        "WHERE c.postback_secret = %s"
    )


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

    1. Check the values; attribute and price (tracking/attribution.py).
    2. Insert. The unique constraints (the dedupe key; the click's id-less slot) decide
       whether it is new. On PostgreSQL one statement inserts the conversion, its outbox
       event and the postback log row, or nothing when a constraint matched.
    3. A stored conversion that the data would not change is a repeat, decided without
       a lock. Otherwise, in a transaction and under row locks, ``conversion_updates.resolve``
       says what the conflict is: an update, an adoption, a duplicate of the click's
       conversion, or another sale to insert (README: the dedupe rules).
    4. When ``postback`` (a PostbackLog, saved or not) is given, it is saved with the
       outcome, reason and conversion, in the same transaction as the change.

    ``lookup`` is what find_connection read ahead for this hit: the click, and the
    conversion already stored under this dedupe key (a retry is then answered with one
    write, its log row). A record from a network's API (source ``api_sync``) states the
    network's current status, which may re-open an approved conversion.
    """
    problem = core.problem_with(data)
    if problem:
        result = RecordResult(None, Outcome.REJECTED, problem)
        _save_log(postback, connection, result)
        return result
    authoritative = conversion_updates.is_authoritative(source)

    # Whether a stored conversion is known to conflict and has been found to change:
    # then the locked resolution follows directly, with no insert attempt.
    conflict_known = False
    known = lookup.conversion_for(data.dedupe_key) if lookup is not None else False
    if known and (postback is None or postback.pk is None):
        # The usual retry: the conversion exists and this hit changes nothing on it.
        repeat = _unchanged_repeat(connection=connection, data=data, existing=known, authoritative=authoritative)
        if repeat is not None:
            _save_log(postback, connection, repeat)
            return repeat
        conflict_known = True

    found = core.attribute(connection=connection, data=data, lookup=lookup)
    conversion = core.new_conversion(connection=connection, data=data, source=source, attribution=found)
    created = core.created_result(conversion, found.notes)
    # A conversion with items writes them too: the ORM path does it in one transaction.
    if not conflict_known and not data.items and _one_statement_writes(postback):
        event = core.created_event(conversion)
        if postback is not None:
            _fill_log(postback, connection, created)
        with _savepoint_if_in_transaction():
            inserted = sql.insert_new_conversion(conversion, event, postback)
        if inserted:
            return created
        repeat = _unchanged_repeat(
            connection=connection, data=data, key=conversion.dedupe_key, authoritative=authoritative
        )
        if repeat is not None:
            _save_log(postback, connection, repeat)
            return repeat
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
        authoritative=authoritative,
    )


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


@transaction.atomic
def _record_in_transaction(
    *, connection, data, source, postback, actor, conversion, created: RecordResult, conflict_known: bool, authoritative
) -> RecordResult:
    result = _insert_or_resolve(
        connection=connection,
        data=data,
        conversion=conversion,
        created=created,
        conflict_known=conflict_known,
        authoritative=authoritative,
    )
    _save_log(postback, connection, result)
    if result.change is not None:
        core.write_history(
            conversion=result.conversion, changes=result.change, source=source, actor=actor, postback=postback
        )
    return result


def _insert_or_resolve(
    *, connection, data, conversion, created: RecordResult, conflict_known: bool, authoritative
) -> RecordResult:
    """Insert ``conversion``; when a constraint says no, let conversion_updates.resolve settle it.

    A conflicting row that a concurrent transaction then rolled back is gone when we look
    for it; the insert is simply tried again. So is an insert resolve changed (another
    sale on a click whose slot is taken).
    """
    for attempt in range(4):
        if attempt > 0 or not conflict_known:
            try:
                with transaction.atomic():
                    conversion.save(force_insert=True)
            except IntegrityError:
                conversion.pk = None
            else:
                core.created_event(conversion).save(force_insert=True)
                if data.items:
                    ConversionItem.objects.bulk_create(core.item_rows(conversion, data))
                return created
        if attempt == 0 and not conflict_known:
            # Retries of one postback are the common case: decide "nothing to change" on the committed
            # row without a lock, so concurrent duplicates do not queue behind each other's row lock.
            repeat = _unchanged_repeat(
                connection=connection, data=data, key=conversion.dedupe_key, authoritative=authoritative
            )
            if repeat is not None:
                return repeat
        decision = conversion_updates.resolve(conversion=conversion, data=data)
        if decision.action == "update":
            return conversion_updates.apply_update(conversion=decision.target, data=data, authoritative=authoritative)
        if decision.action == "adopt":
            return conversion_updates.apply_update(
                conversion=decision.target, data=data, authoritative=True, adopting=True
            )
        if decision.action == "duplicate":
            return RecordResult(decision.target, Outcome.DUPLICATE, decision.reason)
    raise DomainError("The conversion kept conflicting with concurrent writes; try again.")


def _unchanged_repeat(
    *, connection, data, authoritative, existing: Conversion | None = None, key: str = ""
) -> RecordResult | None:
    """The outcome for data that changes nothing on its stored conversion (no lock, no write), else None.

    ``existing`` is that conversion when the caller has read it already, else the one stored under ``key``.
    """
    if existing is None:
        found = sql.fetch_one(_existing_sql(), [connection.workspace_id, connection.kind, key], Conversion)
        if found is None:
            return None
        (existing,), _ = found
    if conversion_updates.would_change(existing, data, authoritative=authoritative):
        return None
    return conversion_updates.apply_update(conversion=existing, data=data, authoritative=authoritative)


@lru_cache(maxsize=1)
def _existing_sql() -> str:
    return (
        f"SELECT {sql.columns(Conversion, 'c')} FROM {sql.table(Conversion)} c "
        "WHERE c.workspace_id = %s AND c.network = %s AND c.dedupe_key = %s"
    )


def _lock(conversion: Conversion) -> Conversion:
    return Conversion.objects.select_for_update().get(pk=conversion.pk)


@transaction.atomic
def change_conversion_status(
    *, conversion: Conversion, status: str, reason: str = "", actor: str = "", source: str = ConversionSource.MANUAL
) -> Conversion:
    """Move a conversion to ``status`` (forward only); raises DomainError otherwise."""
    if status not in STATUS_RANK:
        raise DomainError(f"Unknown status {status!r}.")
    if status == ConversionStatus.REJECTED and not reason.strip():
        raise DomainError("Give a reason for rejecting: it is final, and the history keeps why.")
    conversion = _lock(conversion)
    if status == conversion.status:
        raise DomainError(f"The conversion is already {conversion.get_status_display().lower()}.")
    if not conversion_updates.moves(conversion.status, status):
        raise DomainError(
            f"A {conversion.get_status_display().lower()} conversion cannot become {status}: "
            "statuses only move forward (pending, approved, reversed; rejected is final)."
        )
    before = core.snapshot(conversion)
    old = conversion.status
    conversion.status = status
    conversion.status_reason = reason[:500]
    conversion.locking_at = conversion.locking_at or core.lock_on_approval(status, timezone.now())
    conversion.save(update_fields=["status", "status_reason", "locking_at", "updated_at"])
    core.write_history(
        conversion=conversion, changes={"status": [old, status]}, source=source, note=reason, actor=actor
    )
    core.write_event(conversion=conversion, kind=ConversionEvent.Kind.STATUS_CHANGED, before=before)
    return conversion


def change_conversions_status(
    *, workspace, codes: list[str], status: str, reason: str = "", actor: str = ""
) -> tuple[int, list[str]]:
    """change_conversion_status for each of the workspace's conversions named by ``codes``, each in its
    own transaction; returns (how many changed, why the others did not). Codes of another workspace
    (or none) are not found."""
    if status == ConversionStatus.REJECTED and not reason.strip():
        raise DomainError("Give a reason for rejecting: it is final, and the history keeps why.")
    valid = []
    for code in codes:
        try:
            valid.append(uuid.UUID(str(code)))
        except ValueError:
            continue
    found = list(Conversion.objects.filter(workspace=workspace, code__in=valid).order_by("event_at", "id"))
    changed, problems = 0, []
    for conversion in found:
        try:
            change_conversion_status(conversion=conversion, status=status, reason=reason, actor=actor)
        except DomainError as exc:
            problems.append(f"{conversion.external_id or conversion.transaction_id}: {exc.message}")
        else:
            changed += 1
    missing = len(codes) - len(found)
    if missing:
        problems.append(f"{missing} not found in this workspace")
    return changed, problems


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
            new_offer = core.offer_for_member(connection=conversion.connection, member=member)
    if (new_click, new_member, new_offer) == (conversion.click, conversion.member, conversion.offer):
        raise DomainError("The conversion is already attributed that way.")

    before = core.snapshot(conversion)
    changes = {
        "member": [_member_label(conversion.member), _member_label(new_member)],
        "click": [
            conversion.click.transaction_id if conversion.click else None,
            new_click.transaction_id if new_click else None,
        ],
    }
    conversion.click, conversion.member, conversion.offer = new_click, new_member, new_offer
    conversion.affiliate_mismatch = False
    conversion.attributed_by = AttributedBy.CLICK if new_click is not None else AttributedBy.MANUAL
    payout = _current_payout(conversion)
    if payout.amount != conversion.member_payout:
        changes["member_payout"] = [str(conversion.member_payout), str(payout.amount)]
    conversion.member_payout, conversion.payout_basis = payout.amount, payout.basis
    conversion.save(
        update_fields=[
            "click",
            "member",
            "offer",
            "affiliate_mismatch",
            "attributed_by",
            "member_payout",
            "payout_basis",
            "updated_at",
        ]
    )
    core.write_history(
        conversion=conversion, changes=changes, source=ConversionSource.MANUAL, note="re-attributed", actor=actor
    )
    core.write_event(conversion=conversion, kind=ConversionEvent.Kind.ATTRIBUTED, before=before)
    return conversion


@transaction.atomic
def recompute_member_payout(*, conversion: Conversion, actor: str = "") -> Conversion:
    """Re-price a conversion with its offer's and member's CURRENT payout terms."""
    conversion = _lock(conversion)
    before = core.snapshot(conversion)
    payout = _current_payout(conversion)
    old = conversion.member_payout
    conversion.member_payout, conversion.payout_basis = payout.amount, payout.basis
    conversion.save(update_fields=["member_payout", "payout_basis", "updated_at"])
    if payout.amount == old:
        return conversion
    core.write_history(
        conversion=conversion,
        changes={"member_payout": [str(old), str(payout.amount)]},
        source=ConversionSource.MANUAL,
        note="payout recomputed with current terms",
        actor=actor,
    )
    core.write_event(conversion=conversion, kind=ConversionEvent.Kind.AMOUNT_CHANGED, before=before)
    return conversion


def _current_payout(conversion: Conversion) -> Payout:
    if conversion.offer_id is None:
        return no_offer_payout("no offer: the conversion earns nothing until attributed to an offer")
    terms = terms_for(offer=conversion.offer, member=conversion.member)
    items = list(conversion.items.order_by("id"))
    priced_sale, priced_network = priced_amounts(conversion)
    return core.price(
        terms=terms,
        sale_amount=conversion.sale_amount,
        network_payout=conversion.network_payout,
        items=items,
        rules=rules_for(conversion.offer_id) if items else (),
        priced_sale=priced_sale,
        priced_network=priced_network,
    )


def _member_label(member: Member | None) -> str | None:
    return f"{member.name} ({member.affiliate_id})" if member else None
