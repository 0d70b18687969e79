"""Holds: a held conversion's member payout stays out of the payable balance until released, exactly once."""

from decimal import Decimal

import pytest

from payments import services
from payments.models import AccountKind, Hold, LedgerTransaction, Payment, TxnKind
from payments.selectors import check_ledger, member_statement, overview_figures
from tests.payments.helpers import balance, convert, drain, fund, make_connection, make_member, payable, set_status


def held(workspace, member, currency="USD"):
    from payments.models import Account

    account = Account.objects.filter(
        workspace=workspace, kind=AccountKind.HELD, member=member, currency=currency
    ).first()
    return -account.balance if account else Decimal("0.00")


@pytest.fixture
def setup(workspace):
    connection = make_connection(workspace)
    return connection, make_member(workspace)


def test_holding_a_paid_out_earning_moves_it_from_payable_to_on_hold_and_release_moves_it_back(workspace, setup):
    connection, member = setup
    conversion = convert(connection, member, sale="100.00")
    drain()
    assert payable(workspace, member) == Decimal("10.00")
    hold, created = services.hold_conversion(conversion=conversion, reason="too soon")
    assert created
    assert (payable(workspace, member), held(workspace, member)) == (Decimal("0.00"), Decimal("10.00"))
    assert services.hold_conversion(conversion=conversion)[1] is False  # held once
    assert overview_figures(workspace=workspace, currency="USD")["on_hold"] == Decimal("10.00")
    assert services.release_hold(conversion=conversion, actor="alice@brand.test")
    assert not services.release_hold(conversion=conversion)  # released once
    assert (payable(workspace, member), held(workspace, member)) == (Decimal("10.00"), Decimal("0.00"))
    kinds = LedgerTransaction.objects.filter(conversion=conversion).values_list("kind", flat=True)
    assert sorted(kinds) == sorted([TxnKind.CONVERSION, TxnKind.HOLD, TxnKind.RELEASE])
    assert check_ledger(workspace=workspace).ok


def test_changes_of_a_held_conversion_are_posted_on_hold(workspace, setup):
    connection, member = setup
    conversion = convert(connection, member, status="pending")
    drain()
    services.hold_conversion(conversion=conversion, reason="review")
    set_status(conversion, "approved")
    drain()
    assert (payable(workspace, member), held(workspace, member)) == (Decimal("0.00"), Decimal("10.00"))
    set_status(conversion, "reversed")
    drain()
    # Reversed while held: it never was payable, so there is no clawback either.
    assert (payable(workspace, member), held(workspace, member)) == (Decimal("0.00"), Decimal("0.00"))
    assert check_ledger(workspace=workspace).ok


def test_a_payment_run_never_pays_a_held_conversion(workspace, setup):
    connection, member = setup
    fund(workspace, "100.00")
    fine, suspicious = convert(connection, member), convert(connection, member, sale="300.00")
    drain()
    services.hold_conversion(conversion=suspicious, reason="duplicate order")
    plan = services.plan_payment_run(workspace=workspace, currency="USD", rail="manual")
    assert [r.amount for r in plan.payable_rows] == [Decimal("10.00")]
    run, _ = services.create_payment_run(
        workspace=workspace,
        idempotency_key="k1",
        rail="manual",
        currency="USD",
        member_ids=[member.pk],
        paid_on=fine.event_at.date(),
    )
    assert run.total == Decimal("10.00")
    assert held(workspace, member) == Decimal("30.00")
    statement = member_statement(workspace=workspace, member=member)
    assert statement["on_hold"] == {"USD": Decimal("30.00")}
    assert [h["hold"].conversion_id for h in statement["held"]] == [suspicious.pk]
    assert check_ledger(workspace=workspace).ok


def test_a_hold_after_the_member_was_paid_leaves_a_clawback(workspace, setup):
    connection, member = setup
    fund(workspace, "100.00")
    conversion = convert(connection, member)
    drain()
    services.create_payment_run(
        workspace=workspace,
        idempotency_key="k2",
        rail="manual",
        currency="USD",
        member_ids=[member.pk],
        paid_on=conversion.event_at.date(),
    )
    services.hold_conversion(conversion=conversion, reason="late verdict")
    assert (payable(workspace, member), held(workspace, member)) == (Decimal("-10.00"), Decimal("10.00"))
    set_status(conversion, "reversed")
    drain()
    assert (payable(workspace, member), held(workspace, member)) == (Decimal("-10.00"), Decimal("0.00"))
    assert check_ledger(workspace=workspace).ok


def test_a_member_on_hold_is_not_paid(workspace, setup):
    connection, member = setup
    fund(workspace, "100.00")
    convert(connection, member)
    drain()
    services.hold_member(member=member, reason="chargebacks", actor="alice@brand.test")
    plan = services.plan_payment_run(workspace=workspace, currency="USD", rail="manual")
    assert [r.blocked for r in plan.rows] == ["Member is on hold."]
    assert services.lift_member_hold(member=member)
    plan = services.plan_payment_run(workspace=workspace, currency="USD", rail="manual")
    assert [r.blocked for r in plan.rows] == [""]
    assert not Payment.objects.exists()


def test_checkledger_reports_a_held_conversion_left_in_payable(workspace, setup):
    connection, member = setup
    conversion = convert(connection, member)
    drain()
    # A hold row written behind the service's back: the money never moved.
    Hold.objects.create(workspace=workspace, conversion=conversion)
    report = check_ledger(workspace=workspace)
    assert any("still has" in v for v in report.violations)
    assert balance(workspace, AccountKind.HELD) == Decimal("0.00")


def test_the_statement_and_overview_show_what_is_on_hold(alice_client, workspace, setup):
    connection, member = setup
    conversion = convert(connection, member, sale="250.00")
    drain()
    services.hold_conversion(conversion=conversion, reason="Converted 2 s after its click")
    page = alice_client.get(f"/payments/members/{member.code}/").content.decode()
    assert 'id="on-hold-USD">25.00' in page and "on hold" in page and "Converted 2 s after its click" in page
    overview = alice_client.get("/payments/").content.decode()
    assert 'id="on-hold">25.00' in overview
