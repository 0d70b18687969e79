"""Real threads against PostgreSQL: the balance and the payables hold under concurrent payments."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from payments import services
from payments.ledger import get_account, post_transaction
from payments.models import AccountKind, Payment, PaymentBatch
from payments.selectors import check_ledger
from tests.payments.helpers import balance, fund, make_member
from workspaces.errors import DomainError

D = Decimal
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _owe(workspace, members, amount):
    """Make each member payable ``amount`` (their approved earnings)."""
    expense = get_account(workspace=workspace, kind=AccountKind.EXPENSE, currency="USD")
    for member in members:
        payable = get_account(workspace=workspace, kind=AccountKind.PAYABLE, currency="USD", member=member)
        post_transaction(
            workspace=workspace,
            key=f"earned:{member.pk}",
            kind="correction",
            legs=[(expense, amount), (payable, -amount)],
        )


# PostgreSQL's connection limit is shared with everything else on the machine, so at most
# this many threads (each with its own connection) fire the attempts together.
MAX_THREADS = 20


def _in_threads(n, fn):
    """Run fn(0..n-1) from up to MAX_THREADS threads released together; results in order."""
    workers = min(n, MAX_THREADS)
    barrier = threading.Barrier(workers)
    results = [None] * n

    def worker(w):
        try:
            barrier.wait(timeout=30)
            for i in range(w, n, workers):
                results[i] = fn(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(worker, range(workers)))
    return results


def test_100_simultaneous_payments_of_10_against_500_pay_exactly_50(workspace):
    members = [make_member(workspace, f"M{i:03d}") for i in range(100)]
    _owe(workspace, members, D("10.00"))
    fund(workspace, D("500.00"))
    member_ids = [m.pk for m in members]

    def pay(i):
        try:
            services.create_payment_run(
                workspace=workspace,
                idempotency_key=f"run-{i}",
                rail="manual",
                currency="USD",
                member_ids=[member_ids[i]],
                paid_on=timezone.localdate(),
            )
            return "paid"
        except DomainError as e:
            assert "exceeds the available balance" in e.message
            return "refused"

    outcomes = _in_threads(100, pay)
    assert outcomes.count("paid") == 50 and outcomes.count("refused") == 50
    assert balance(workspace, AccountKind.AVAILABLE) == D("0.00")
    assert Payment.objects.filter(workspace=workspace).count() == 50
    assert check_ledger(workspace=workspace).ok


def test_20_simultaneous_submits_of_one_run_make_one_run(workspace):
    members = [make_member(workspace) for _ in range(3)]
    _owe(workspace, members, D("10.00"))
    fund(workspace, D("100.00"))
    member_ids = [m.pk for m in members]

    def submit(i):
        batch, created = services.create_payment_run(
            workspace=workspace,
            idempotency_key="the-one-run",
            rail="manual",
            currency="USD",
            member_ids=member_ids,
            paid_on=timezone.localdate(),
        )
        return batch.pk, created

    outcomes = _in_threads(20, submit)
    assert len({pk for pk, _ in outcomes}) == 1
    assert sum(created for _, created in outcomes) == 1
    assert PaymentBatch.objects.count() == 1
    assert Payment.objects.count() == 3
    assert balance(workspace, AccountKind.AVAILABLE) == D("70.00")
    assert check_ledger(workspace=workspace).ok


def test_different_runs_racing_for_one_payable_pay_it_once(workspace):
    member = make_member(workspace)
    _owe(workspace, [member], D("25.00"))
    fund(workspace, D("100.00"))

    def pay(i):
        try:
            services.create_payment_run(
                workspace=workspace,
                idempotency_key=f"race-{i}",
                rail="manual",
                currency="USD",
                member_ids=[member.pk],
                paid_on=timezone.localdate(),
            )
            return True
        except DomainError:
            return False

    assert sum(_in_threads(10, pay)) == 1
    assert balance(workspace, AccountKind.AVAILABLE) == D("75.00")
    assert check_ledger(workspace=workspace).ok
