"""The outbox consumer: conversion events become ledger transactions, exactly once, in order."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from payments import services
from payments.models import AccountKind, Entry, LedgerTransaction, TxnKind
from payments.selectors import check_ledger
from payments.services import outbox
from tests.payments.helpers import balance, convert, drain, fund, make_connection, make_member, payable, set_status
from tracking.models import ConversionEvent, ConversionSource
from tracking.services import reattribute_conversion

D = Decimal


@pytest.fixture
def conn(workspace):
    return make_connection(workspace)


def test_an_approved_conversion_posts_receivable_and_payable(workspace, conn):
    member = make_member(workspace)
    convert(conn, member, sale="80.00", payout="12.00")
    assert drain() == 1
    assert balance(workspace, AccountKind.RECEIVABLE) == D("12.00")
    assert balance(workspace, AccountKind.INCOME) == D("12.00")
    assert balance(workspace, AccountKind.EXPENSE) == D("8.00")
    assert payable(workspace, member) == D("8.00")
    assert not ConversionEvent.objects.filter(processed_at__isnull=True).exists()
    assert check_ledger(workspace=workspace).ok


def test_a_pending_conversion_posts_nothing_until_approved(workspace, conn):
    member = make_member(workspace)
    conversion = convert(conn, member, sale="50.00", payout="6.00", status="pending")
    drain()
    assert not LedgerTransaction.objects.filter(workspace=workspace).exists()
    set_status(conversion, "approved")
    drain()
    assert payable(workspace, member) == D("5.00")
    assert balance(workspace, AccountKind.RECEIVABLE) == D("6.00")


def test_processing_twice_posts_once(workspace, conn):
    member = make_member(workspace)
    convert(conn, member)
    drain()
    event = ConversionEvent.objects.get()
    # A redelivered event (processed_at lost) must not post again: the key is the event.
    ConversionEvent.objects.filter(pk=event.pk).update(processed_at=None)
    drain()
    assert LedgerTransaction.objects.filter(key=f"convevent:{event.pk}").count() == 1
    assert payable(workspace, member) == D("10.00")


def test_an_amount_change_posts_the_difference(workspace, conn):
    member = make_member(workspace)
    convert(conn, member, sale="100.00", payout="10.00", external_id="A-1")
    drain()
    convert(conn, member, sale="150.00", payout="15.00", external_id="A-1")
    drain()
    assert balance(workspace, AccountKind.RECEIVABLE) == D("15.00")
    assert payable(workspace, member) == D("15.00")
    # Only the differences were posted, not the new amounts again.
    last = LedgerTransaction.objects.filter(workspace=workspace).latest("id")
    assert sorted(last.entries.values_list("amount", flat=True)) == [D("-5.00")] * 2 + [D("5.00")] * 2


def test_a_reversal_before_settlement_undoes_both_sides(workspace, conn):
    member = make_member(workspace)
    conversion = convert(conn, member)
    drain()
    set_status(conversion, "reversed")
    drain()
    assert balance(workspace, AccountKind.RECEIVABLE) == 0
    assert payable(workspace, member) == 0
    assert balance(workspace, AccountKind.EXPENSE) == 0
    assert check_ledger(workspace=workspace).ok


def test_a_reversal_after_payment_is_a_clawback_later_earnings_offset(workspace, conn):
    member = make_member(workspace)
    fund(workspace, D("100.00"))
    conversion = convert(conn, member, sale="100.00", payout="20.00")
    drain()
    services.create_payment_run(
        workspace=workspace,
        idempotency_key="k1",
        rail="manual",
        currency="USD",
        member_ids=[member.pk],
        paid_on=timezone.localdate(),
    )
    assert payable(workspace, member) == 0
    set_status(conversion, "reversed")
    drain()
    assert payable(workspace, member) == D("-10.00")  # the member owes it back
    convert(conn, member, sale="150.00", payout="20.00")
    drain()
    assert payable(workspace, member) == D("5.00")
    assert check_ledger(workspace=workspace).ok


def test_an_unattributed_conversion_has_no_payable_until_attributed(workspace, conn):
    member = make_member(workspace)
    conversion = convert(conn, None, sale="100.00", payout="10.00")
    convert(conn, member, sale="10.00", payout="1.00")  # links the member to the connection's offer
    drain()
    assert balance(workspace, AccountKind.RECEIVABLE) == D("11.00")
    assert payable(workspace, member) == D("1.00")
    reattribute_conversion(conversion=conversion, member=member)
    drain()
    assert payable(workspace, member) == D("11.00")
    assert balance(workspace, AccountKind.RECEIVABLE) == D("11.00")


def test_a_reattribution_moves_the_payable(workspace, conn):
    ann, ben = make_member(workspace), make_member(workspace)
    conversion = convert(conn, ann)
    convert(conn, ben, sale="10.00", payout="1.00")
    drain()
    reattribute_conversion(conversion=conversion, member=ben)
    drain()
    assert payable(workspace, ann) == 0
    assert payable(workspace, ben) == D("11.00")


def test_test_conversions_carry_no_money(workspace, conn):
    member = make_member(workspace)
    conversion = convert(conn, member)
    type(conversion).objects.filter(pk=conversion.pk).update(source=ConversionSource.TEST)
    drain()
    assert not LedgerTransaction.objects.filter(workspace=workspace).exists()
    assert not ConversionEvent.objects.filter(processed_at__isnull=True).exists()


def test_events_in_other_currencies_post_in_their_own_accounts(workspace, conn):
    member = make_member(workspace)
    convert(conn, member, sale="100.00", payout="9.00", currency="EUR")
    drain()
    assert balance(workspace, AccountKind.RECEIVABLE, "EUR") == D("9.00")
    assert payable(workspace, member, "EUR") == D("10.00")
    assert balance(workspace, AccountKind.RECEIVABLE, "USD") == 0


def test_a_failing_event_does_not_block_the_events_behind_it(workspace, conn, monkeypatch):
    member = make_member(workspace)
    first = convert(conn, member)
    convert(conn, member)
    real = outbox.post_conversion_event

    def flaky(*, event):
        if event.conversion_id == first.pk:
            raise RuntimeError("boom")
        return real(event=event)

    monkeypatch.setattr(outbox, "post_conversion_event", flaky)
    assert drain() == 1
    stuck = ConversionEvent.objects.filter(processed_at__isnull=True)
    assert list(stuck.values_list("conversion_id", flat=True)) == [first.pk]
    monkeypatch.setattr(outbox, "post_conversion_event", real)
    assert drain() == 1
    assert payable(workspace, member) == D("20.00")


def test_the_ledger_total_per_conversion_equals_its_current_worth(workspace, conn):
    member = make_member(workspace)
    conversion = convert(conn, member, sale="100.00", payout="10.00", status="pending", external_id="X")
    convert(conn, member, sale="120.00", payout="12.00", status="approved", external_id="X")
    drain()
    conversion.refresh_from_db()
    posted = Entry.objects.filter(
        transaction__conversion=conversion, transaction__kind=TxnKind.CONVERSION, account__kind=AccountKind.RECEIVABLE
    ).aggregate(t=Sum("amount"))["t"]
    assert posted == conversion.network_payout == D("12.00")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_drains_the_outbox(workspace, celery_worker_process):
    from payments.tasks import process_conversion_events
    from tests.conftest import wait_for

    member = make_member(workspace)
    convert(make_connection(workspace), member)
    process_conversion_events.delay()
    assert wait_for(lambda: not ConversionEvent.objects.filter(processed_at__isnull=True).exists(), timeout=20)
    assert payable(workspace, member) == D("10.00")
