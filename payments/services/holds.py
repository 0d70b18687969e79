"""Holds: a conversion's member payout kept out of the payable balance until a person releases it.

The money moves by balanced ledger transactions between the member's payable account
and their "on hold" account, keyed by the hold so each posts once:
- ``hold:<id>``: whatever the conversion had put into a payable so far moves to held;
- while the hold is active the outbox consumer posts the conversion's later changes
  (approval, new amounts, reversal) to held instead of payable (``is_held``);
- ``hold-release:<id>``: whatever the conversion has in held moves back to payable.
Both sides lock the conversion row first, so a hold and the consumer's posting of the
same conversion never interleave. A hold placed after the member was paid for the
conversion leaves a negative payable (a clawback later earnings offset), as a reversal does.
"""

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from offers.models import Member
from payments.ledger import get_account, post_transaction
from payments.models import AccountKind, Entry, Hold, MemberHold, TxnKind
from tracking.models import Conversion
from workspaces.errors import DomainError


def is_held(conversion_id: int) -> bool:
    """Whether the conversion's member payout belongs on hold (call under the conversion's row lock)."""
    return Hold.objects.filter(conversion_id=conversion_id, released_at__isnull=True).exists()


def lock_conversion(conversion_id: int) -> Conversion:
    return Conversion.objects.select_for_update().get(pk=conversion_id)


@transaction.atomic
def hold_conversion(*, conversion: Conversion, reason: str = "") -> tuple[Hold, bool]:
    """Put ``conversion`` on hold (once); returns (hold, created)."""
    conversion = lock_conversion(conversion.pk)
    existing = Hold.objects.filter(conversion=conversion, released_at__isnull=True).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            hold = Hold.objects.create(workspace_id=conversion.workspace_id, conversion=conversion, reason=reason[:500])
    except IntegrityError:
        return Hold.objects.get(conversion=conversion, released_at__isnull=True), False
    _move(conversion, source=AccountKind.PAYABLE, target=AccountKind.HELD, key=f"hold:{hold.pk}", kind=TxnKind.HOLD)
    return hold, True


@transaction.atomic
def release_hold(*, conversion: Conversion, actor: str = "") -> bool:
    """Give a held conversion's member payout back to the payable balance; False if it was not held."""
    conversion = lock_conversion(conversion.pk)
    hold = Hold.objects.filter(conversion=conversion, released_at__isnull=True).first()
    if hold is None:
        return False
    claimed = Hold.objects.filter(pk=hold.pk, released_at__isnull=True).update(
        released_at=timezone.now(), released_by=actor[:150]
    )
    if claimed != 1:
        return False
    _move(
        conversion,
        source=AccountKind.HELD,
        target=AccountKind.PAYABLE,
        key=f"hold-release:{hold.pk}",
        kind=TxnKind.RELEASE,
    )
    return True


def _move(conversion: Conversion, *, source: str, target: str, key: str, kind: str) -> None:
    """Move what ``conversion``'s postings left on ``source`` accounts to the same members' ``target`` accounts."""
    sums = (
        Entry.objects.filter(
            workspace_id=conversion.workspace_id, account__kind=source, transaction__conversion=conversion
        )
        .values("account__member_id", "currency")
        .annotate(total=Sum("amount"))
        .order_by("account__member_id", "currency")
    )
    legs = []
    workspace = conversion.workspace
    for row in sums:
        if not row["total"]:
            continue
        member = Member.objects.get(workspace=workspace, pk=row["account__member_id"])
        legs.append(
            (get_account(workspace=workspace, kind=source, currency=row["currency"], member=member), -row["total"])
        )
        legs.append(
            (get_account(workspace=workspace, kind=target, currency=row["currency"], member=member), row["total"])
        )
    verb = "put on hold" if kind == TxnKind.HOLD else "released from hold"
    name = conversion.external_id or conversion.transaction_id or conversion.code
    post_transaction(
        workspace=workspace, key=key, kind=kind, legs=legs, memo=f"Conversion {name} {verb}", conversion=conversion
    )


@transaction.atomic
def hold_member(*, member: Member, reason: str, actor: str = "") -> MemberHold:
    """Stop paying ``member`` (payment runs list them as blocked) until the hold is lifted."""
    if not reason.strip():
        raise DomainError("Give a reason for putting the member on hold.")
    hold, _ = MemberHold.objects.get_or_create(
        member=member, defaults={"workspace_id": member.workspace_id, "reason": reason[:500], "held_by": actor}
    )
    return hold


def lift_member_hold(*, member: Member) -> bool:
    return MemberHold.objects.filter(member=member).delete()[0] > 0
