"""Real threads against PostgreSQL: a hold racing the ledger consumer, and two releases at once."""

from decimal import Decimal

import pytest

from payments import services
from payments.models import LedgerTransaction, TxnKind
from payments.selectors import check_ledger, overview_figures
from tests.payments.helpers import convert, drain, make_connection, make_member, payable
from tests.payments.test_concurrency import _in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_hold_racing_the_ledger_consumer_always_ends_on_hold(workspace):
    connection, member = make_connection(workspace), make_member(workspace)
    conversions = [convert(connection, member, sale="100.00") for _ in range(8)]  # 10.00 each, not yet posted

    for n in range(4):
        # Each round: conversion n's hold and a consumer run, released together.
        _in_threads(
            2, lambda i, n=n: drain() if i else services.hold_conversion(conversion=conversions[n], reason="race")
        )
    drain()
    assert payable(workspace, member) == Decimal("40.00")  # the four never held
    assert overview_figures(workspace=workspace, currency="USD")["on_hold"] == Decimal("40.00")
    report = check_ledger(workspace=workspace)
    assert report.ok, report.violations


def test_two_releases_at_once_make_the_payout_payable_once(workspace):
    connection, member = make_connection(workspace), make_member(workspace)
    conversion = convert(connection, member, sale="100.00")
    drain()
    services.hold_conversion(conversion=conversion, reason="review")
    results = _in_threads(6, lambda i: services.release_hold(conversion=conversion, actor=f"user{i}"))
    assert sorted(results) == [False] * 5 + [True]
    assert payable(workspace, member) == Decimal("10.00")
    assert LedgerTransaction.objects.filter(conversion=conversion, kind=TxnKind.RELEASE).count() == 1
    assert check_ledger(workspace=workspace).ok
