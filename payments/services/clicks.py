"""Paid clicks reach the ledger: one balanced transaction per member, day and currency."""

from datetime import date
from decimal import Decimal

from offers.models import Member
from payments.ledger import get_account, post_transaction
from payments.models import AccountKind, LedgerTransaction, TxnKind


def post_paid_clicks(
    *, member: Member, day: date, currency: str, amount: Decimal, clicks: int
) -> LedgerTransaction | None:
    """Owe ``member`` ``amount`` for their paid clicks of ``day``: creator expense against their payable.

    Keyed by member, day and currency, so a repeat posts nothing (and returns the first posting).
    """
    workspace = member.workspace
    expense = get_account(workspace=workspace, kind=AccountKind.EXPENSE, currency=currency)
    payable = get_account(workspace=workspace, kind=AccountKind.PAYABLE, currency=currency, member=member)
    txn, _created = post_transaction(
        workspace=workspace,
        key=f"paid-clicks:{member.pk}:{day.isoformat()}:{currency}",
        kind=TxnKind.PAID_CLICKS,
        legs=[(expense, amount), (payable, -amount)],
        memo=f"{clicks} paid clicks of {member.name[:80]} on {day.isoformat()}",
    )
    return txn
