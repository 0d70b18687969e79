from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments import services
from payments.models import AccountKind, LedgerTransaction, Settlement, SettlementLine
from payments.selectors import check_ledger
from tests.payments.helpers import balance, convert, drain, make_connection, make_member, set_status
from workspaces.errors import DomainError

D = Decimal


def aware(d: date, hour=12):
    return timezone.make_aware(datetime(d.year, d.month, d.day, hour))


def test_impact_settlement_covers_approved_conversions_locked_before_the_1st(workspace):
    conn = make_connection(workspace, kind="impact", settlement_day=1)
    member = make_member(workspace)
    today = date(2026, 11, 23)
    early = convert(conn, member, payout="10.00")
    late = convert(conn, member, payout="7.00")
    pending = convert(conn, member, payout="5.00", status="pending")
    type(early).objects.filter(pk=early.pk).update(locking_at=aware(date(2026, 11, 30)))
    type(late).objects.filter(pk=late.pk).update(locking_at=aware(date(2026, 12, 1), hour=1))
    type(pending).objects.filter(pk=pending.pk).update(locking_at=aware(date(2026, 11, 10)))
    [settlement] = services.refresh_expected_settlement(connection=conn, today=today)
    assert settlement.expected_on == date(2026, 12, 1)
    assert settlement.expected_amount == D("10.00")
    assert list(settlement.lines.values_list("conversion_id", flat=True)) == [early.pk]


def test_shareasale_settlement_covers_the_previous_month_only(workspace):
    conn = make_connection(workspace, kind="shareasale", settlement_day=20)
    member = make_member(workspace)
    october = convert(conn, member, payout="4.00")
    november = convert(conn, member, payout="6.00")
    type(october).objects.filter(pk=october.pk).update(locking_at=aware(date(2026, 10, 31)))
    type(november).objects.filter(pk=november.pk).update(locking_at=aware(date(2026, 11, 2)))
    [settlement] = services.refresh_expected_settlement(connection=conn, today=date(2026, 11, 5))
    assert settlement.expected_on == date(2026, 11, 20)
    assert settlement.expected_amount == D("4.00")


def test_the_daily_run_tops_up_and_never_lists_a_conversion_twice(workspace):
    conn = make_connection(workspace)
    member = make_member(workspace)
    convert(conn, member, payout="3.00")
    today = timezone.localdate()
    services.create_expected_settlements_all_workspaces(today=today)
    convert(conn, member, payout="2.00")
    services.create_expected_settlements_all_workspaces(today=today)
    services.create_expected_settlements_all_workspaces(today=today)
    settlement = Settlement.objects.get(connection=conn)
    assert settlement.expected_amount == D("5.00")
    assert SettlementLine.objects.filter(settlement=settlement).count() == 2


def test_a_reversed_conversion_leaves_an_expected_settlement(workspace):
    conn = make_connection(workspace)
    member = make_member(workspace)
    keep = convert(conn, member, payout="3.00")
    gone = convert(conn, member, payout="2.00")
    today = timezone.localdate()
    services.create_expected_settlements_all_workspaces(today=today)
    set_status(gone, "reversed")
    services.create_expected_settlements_all_workspaces(today=today)
    settlement = Settlement.objects.get(connection=conn)
    assert settlement.expected_amount == D("3.00")
    assert list(settlement.lines.values_list("conversion_id", flat=True)) == [keep.pk]


def _expected(workspace, payout="50.00"):
    conn = make_connection(workspace)
    convert(conn, make_member(workspace), payout=payout)
    drain()
    [settlement] = services.refresh_expected_settlement(connection=conn, today=timezone.localdate())
    return settlement


def test_marking_received_moves_receivable_to_in_transit_and_books_the_difference(workspace):
    settlement = _expected(workspace)
    received = services.mark_settlement_received(
        settlement=settlement, amount=D("48.50"), received_on=date(2026, 11, 20), reference="WIRE-7", actor="alice"
    )
    assert received.status == "received" and received.difference == D("-1.50")
    assert received.credit_due_on == date(2026, 11, 25)  # 3 business days after a Friday
    assert balance(workspace, AccountKind.RECEIVABLE) == 0
    assert balance(workspace, AccountKind.IN_TRANSIT) == D("48.50")
    assert balance(workspace, AccountKind.DIFFERENCE) == D("1.50")
    assert check_ledger(workspace=workspace).ok
    with pytest.raises(DomainError, match="already"):
        services.mark_settlement_received(settlement=settlement, amount=D("48.50"), received_on=date(2026, 11, 20))


def test_a_received_amount_above_expected_is_a_credit_difference(workspace):
    settlement = _expected(workspace, payout="10.00")
    services.mark_settlement_received(settlement=settlement, amount=D("10.40"), received_on=timezone.localdate())
    assert balance(workspace, AccountKind.DIFFERENCE) == D("-0.40")
    assert check_ledger(workspace=workspace).ok


def test_received_amounts_are_validated(workspace):
    settlement = _expected(workspace)
    with pytest.raises(DomainError, match="negative"):
        services.mark_settlement_received(settlement=settlement, amount=D("-1"), received_on=timezone.localdate())
    with pytest.raises(DomainError, match="future"):
        services.mark_settlement_received(
            settlement=settlement, amount=D("1"), received_on=timezone.localdate() + timedelta(days=9)
        )


def test_crediting_waits_for_the_business_day_delay_then_runs_once(workspace):
    workspace.crediting_delay_days = 2
    workspace.save(update_fields=["crediting_delay_days"])
    settlement = _expected(workspace)
    services.mark_settlement_received(settlement=settlement, amount=D("50.00"), received_on=date(2026, 11, 20))
    assert services.credit_due_settlements_all_workspaces(today=date(2026, 11, 23)) == 0  # Monday: 1 day
    assert balance(workspace, AccountKind.AVAILABLE) == 0
    assert services.credit_due_settlements_all_workspaces(today=date(2026, 11, 24)) == 1
    assert services.credit_due_settlements_all_workspaces(today=date(2026, 11, 24)) == 0
    settlement.refresh_from_db()
    assert settlement.status == "credited"
    assert balance(workspace, AccountKind.AVAILABLE) == D("50.00")
    assert balance(workspace, AccountKind.IN_TRANSIT) == 0
    assert LedgerTransaction.objects.filter(key=f"credit:{settlement.pk}").count() == 1
    assert check_ledger(workspace=workspace).ok


def test_crediting_skips_the_workspaces_public_holidays(workspace):
    workspace.crediting_delay_days = 2
    workspace.holiday_country = "US"
    workspace.save(update_fields=["crediting_delay_days", "holiday_country"])
    settlement = _expected(workspace)
    settlement = services.mark_settlement_received(
        settlement=settlement, amount=D("50.00"), received_on=date(2026, 11, 25)
    )
    # Thanksgiving (26 November) is no business day; the weekend neither.
    assert settlement.credit_due_on == date(2026, 11, 30)
    assert services.credit_due_settlements_all_workspaces(today=date(2026, 11, 27)) == 0
    assert services.credit_due_settlements_all_workspaces(today=date(2026, 11, 30)) == 1


def test_a_shareasale_postback_approved_by_hand_reaches_the_next_pay_date(client, workspace):
    # ShareASale's postback template carries no status or locking date.
    from tests.tracking.postback_world import make_world
    from tracking.models import Conversion
    from tracking.services import change_conversion_status

    world = make_world(workspace, kind="shareasale")
    conn = world["connection"]
    conn.settlement_day = 20
    conn.save(update_fields=["settlement_day"])
    query = {
        "afftrack": world["click"].transaction_id,
        "transID": "88123",
        "amountOfSale": "120.00",
        "commission": "12.00",
        "transDate": "2026-11-02 10:00:00",
    }
    assert client.get(f"/postback/shareasale/{conn.postback_secret}", query).content == b"accepted"
    conversion = Conversion.objects.get()
    assert (conversion.status, conversion.locking_at) == ("pending", None)
    change_conversion_status(conversion=conversion, status="approved", reason="confirmed with the brand")
    conversion.refresh_from_db()
    locked_on = timezone.localdate(conversion.locking_at)
    # ShareASale pays on the 20th for the previous month's locked transactions: the month after the lock.
    first_of_next = (locked_on.replace(day=28) + timedelta(days=4)).replace(day=1)
    [settlement] = services.refresh_expected_settlement(connection=conn, today=first_of_next)
    assert settlement.expected_on == first_of_next.replace(day=20)
    assert list(settlement.lines.values_list("conversion_id", flat=True)) == [conversion.pk]
    assert settlement.expected_amount == D("12.00")
