"""Posting primitives: accounts and balanced, exactly-once ledger transactions.

Every posting goes through ``post_transaction``. It
1. drops zero legs and refuses legs that do not balance per currency;
2. inserts the transaction row under its unique (workspace, key) in a savepoint:
   a repeat of the same key is a no-op that returns the existing row;
3. updates the cached balances with F() in account-id order (a consistent lock
   order, so concurrent postings cannot deadlock), then inserts the entries.
PostgreSQL re-checks the balance at commit (see migration 0002).
"""

from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

from payments.models import Account, AccountKind, Entry, LedgerTransaction
from workspaces.models import Workspace

Leg = tuple[Account, Decimal]


class UnbalancedTransaction(ValueError):
    pass


def get_account(*, workspace: Workspace, kind: str, currency: str, connection=None, member=None) -> Account:
    """The account of ``kind`` in ``currency``, created on first use."""
    lookup = {"workspace": workspace, "kind": kind, "currency": currency.upper()}
    if kind == AccountKind.RECEIVABLE:
        lookup["connection"] = connection
    elif kind in (AccountKind.PAYABLE, AccountKind.HELD):
        lookup["member"] = member
    account = Account.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(**lookup)
    except IntegrityError:
        # Created by a concurrent posting since our read.
        return Account.objects.get(**lookup)


def lock_account(account: Account) -> Account:
    """Re-read ``account`` under a row lock (SELECT ... FOR UPDATE)."""
    return Account.objects.select_for_update().get(pk=account.pk)


def check_balanced(legs: list[Leg]) -> None:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for account, amount in legs:
        totals[account.currency] += amount
    unbalanced = {c: t for c, t in totals.items() if t != 0}
    if unbalanced:
        raise UnbalancedTransaction(f"legs do not balance: {unbalanced}")
    if len(legs) < 2:
        raise UnbalancedTransaction("a transaction needs at least two legs")


@transaction.atomic
def post_transaction(
    *,
    workspace: Workspace,
    key: str,
    kind: str,
    legs: list[Leg],
    memo: str = "",
    conversion=None,
    settlement=None,
    payment=None,
    reverses=None,
) -> tuple[LedgerTransaction | None, bool]:
    """Post ``legs`` (account, signed amount: + debit, - credit) once under ``key``.

    Returns (transaction, created). Legs that net to nothing post nothing: (None, False).
    """
    merged: dict[int, list] = {}
    for account, amount in legs:
        if account.pk in merged:
            merged[account.pk][1] += amount
        else:
            merged[account.pk] = [account, Decimal(amount)]
    live = [(a, amt) for a, amt in merged.values() if amt != 0]
    if not live:
        return None, False
    check_balanced(live)
    try:
        with transaction.atomic():
            txn = LedgerTransaction.objects.create(
                workspace=workspace,
                key=key,
                kind=kind,
                memo=memo[:300],
                conversion=conversion,
                settlement=settlement,
                payment=payment,
                reverses=reverses,
            )
    except IntegrityError:
        return LedgerTransaction.objects.get(workspace=workspace, key=key), False
    live.sort(key=lambda leg: leg[0].pk)
    for account, amount in live:
        Account.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
    Entry.objects.bulk_create(
        Entry(workspace=workspace, transaction=txn, account=account, amount=amount, currency=account.currency)
        for account, amount in live
    )
    return txn, True


def reverse_transaction(*, original: LedgerTransaction, key: str, kind: str, memo: str = "", payment=None):
    """Post the exact opposite of ``original`` under ``key``."""
    legs = [(e.account, -e.amount) for e in original.entries.select_related("account")]
    return post_transaction(
        workspace=original.workspace,
        key=key,
        kind=kind,
        legs=legs,
        memo=memo or f"Reverses {original.key}",
        conversion=original.conversion,
        settlement=original.settlement,
        payment=payment or original.payment,
        reverses=original,
    )
