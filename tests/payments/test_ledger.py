from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from payments.ledger import UnbalancedTransaction, get_account, post_transaction, reverse_transaction
from payments.models import Account, AccountKind, Entry, LedgerTransaction
from payments.selectors import check_ledger
from tests.payments.helpers import make_connection, make_member

D = Decimal


@pytest.fixture
def accounts(workspace):
    conn = make_connection(workspace)
    member = make_member(workspace)
    return {
        "receivable": get_account(workspace=workspace, kind=AccountKind.RECEIVABLE, currency="USD", connection=conn),
        "income": get_account(workspace=workspace, kind=AccountKind.INCOME, currency="usd"),
        "payable": get_account(workspace=workspace, kind=AccountKind.PAYABLE, currency="USD", member=member),
        "expense": get_account(workspace=workspace, kind=AccountKind.EXPENSE, currency="USD"),
        "available": get_account(workspace=workspace, kind=AccountKind.AVAILABLE, currency="USD"),
    }


def test_it_creates_each_account_once(workspace, accounts):
    again = get_account(workspace=workspace, kind=AccountKind.INCOME, currency="USD")
    assert again.pk == accounts["income"].pk
    assert Account.objects.filter(workspace=workspace, kind=AccountKind.INCOME).count() == 1


def test_it_posts_a_balanced_transaction_and_updates_cached_balances(workspace, accounts):
    txn, created = post_transaction(
        workspace=workspace,
        key="test:1",
        kind="correction",
        legs=[(accounts["receivable"], D("12.50")), (accounts["income"], D("-12.50"))],
    )
    assert created and txn.entries.count() == 2
    accounts["receivable"].refresh_from_db()
    accounts["income"].refresh_from_db()
    assert accounts["receivable"].balance == D("12.50")
    assert accounts["income"].display_balance == D("12.50")
    assert check_ledger(workspace=workspace).ok
    if connection.vendor == "postgresql":
        _check_deferred_now()  # the database agrees it balances


def test_a_repeated_key_posts_nothing(workspace, accounts):
    legs = [(accounts["receivable"], D("5.00")), (accounts["income"], D("-5.00"))]
    first, created = post_transaction(workspace=workspace, key="same", kind="correction", legs=legs)
    second, created_again = post_transaction(workspace=workspace, key="same", kind="correction", legs=legs)
    assert created and not created_again and first.pk == second.pk
    accounts["receivable"].refresh_from_db()
    assert accounts["receivable"].balance == D("5.00")
    assert Entry.objects.filter(workspace=workspace).count() == 2


def test_it_refuses_unbalanced_legs_in_python(workspace, accounts):
    with pytest.raises(UnbalancedTransaction):
        post_transaction(
            workspace=workspace,
            key="bad",
            kind="correction",
            legs=[(accounts["receivable"], D("5.00")), (accounts["income"], D("-4.00"))],
        )
    assert not LedgerTransaction.objects.filter(key="bad").exists()


def test_legs_that_net_to_nothing_post_nothing(workspace, accounts):
    txn, created = post_transaction(
        workspace=workspace,
        key="nothing",
        kind="correction",
        legs=[(accounts["receivable"], D("5.00")), (accounts["receivable"], D("-5.00"))],
    )
    assert txn is None and not created


def test_a_reversal_restores_every_balance(workspace, accounts):
    txn, _ = post_transaction(
        workspace=workspace,
        key="orig",
        kind="correction",
        legs=[(accounts["expense"], D("3.00")), (accounts["payable"], D("-3.00"))],
    )
    reverse_transaction(original=txn, key="orig:reversed", kind="correction")
    for account in accounts.values():
        account.refresh_from_db()
        assert account.balance == 0
    assert LedgerTransaction.objects.get(key="orig:reversed").reverses_id == txn.pk


def test_the_database_refuses_a_negative_available_balance(workspace, accounts):
    with pytest.raises(IntegrityError):
        post_transaction(
            workspace=workspace,
            key="overdraw",
            kind="correction",
            legs=[(accounts["expense"], D("1.00")), (accounts["available"], D("-1.00"))],
        )


def test_check_ledger_reports_a_drifted_cached_balance(workspace, accounts):
    post_transaction(
        workspace=workspace,
        key="t",
        kind="correction",
        legs=[(accounts["receivable"], D("5.00")), (accounts["income"], D("-5.00"))],
    )
    Account.objects.filter(pk=accounts["receivable"].pk).update(balance=D("6.00"))
    report = check_ledger(workspace=workspace)
    assert not report.ok
    assert "caches 6.00 but its entries sum to 5.00" in report.violations[0]


@pytest.mark.postgres
def test_postgres_refuses_an_unbalanced_transaction_at_commit(workspace, accounts):
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic():
            txn = LedgerTransaction.objects.create(workspace=workspace, key="raw", kind="correction")
            Entry.objects.create(
                workspace=workspace, transaction=txn, account=accounts["receivable"], amount=D("5.00"), currency="USD"
            )
            Entry.objects.create(
                workspace=workspace, transaction=txn, account=accounts["income"], amount=D("-4.00"), currency="USD"
            )
            _check_deferred_now()


@pytest.mark.postgres
def test_postgres_refuses_a_transaction_with_one_entry(workspace, accounts):
    with pytest.raises(IntegrityError, match="at least 2"):
        with transaction.atomic():
            txn = LedgerTransaction.objects.create(workspace=workspace, key="single", kind="correction")
            Entry.objects.create(
                workspace=workspace, transaction=txn, account=accounts["receivable"], amount=D("5.00"), currency="USD"
            )
            _check_deferred_now()


def _check_deferred_now():
    # Run the deferred checks now instead of at the (test-wrapped) commit.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.postgres
@pytest.mark.parametrize("operation", ["update", "delete"])
def test_postgres_keeps_entries_append_only(workspace, accounts, operation):
    txn, _ = post_transaction(
        workspace=workspace,
        key="fixed",
        kind="correction",
        legs=[(accounts["receivable"], D("5.00")), (accounts["income"], D("-5.00"))],
    )
    entries = Entry.objects.filter(transaction=txn)
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic():
            if operation == "update":
                entries.update(amount=D("6.00"))
            else:
                entries.delete()
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic():
            LedgerTransaction.objects.filter(pk=txn.pk).update(memo="changed")
