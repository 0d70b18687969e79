"""The normalized records both network clients produce, and their adapter to ConversionData."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from networks.records import NetworkChange, NetworkPayment, NetworkRecord, RecordError, money, to_conversion_data


def test_it_reads_money_as_decimal_cents_never_float():
    assert money("138", what="x") == Decimal("138.00")
    assert money("$1,234.50", what="x") == Decimal("1234.50")
    assert money("-206.91999999999996", what="x") == Decimal("-206.92")
    assert money(Decimal("0.005"), what="x") == Decimal("0.01")  # half up
    assert money(124, what="x") == Decimal("124.00")
    assert money("", what="x") is None and money(None, what="x") is None
    with pytest.raises(RecordError, match="binary float"):
        money(5.59, what="commission")
    with pytest.raises(RecordError, match="Trans Amount is not an amount"):
        money("12 USD", what="Trans Amount")
    with pytest.raises(RecordError, match="finite"):
        money("NaN", what="x")


def test_a_record_refuses_an_unknown_status_or_a_naive_time():
    with pytest.raises(RecordError, match="Unknown status"):
        NetworkRecord(external_id="1", status="locked")
    with pytest.raises(RecordError, match="timezone-aware"):
        NetworkRecord(external_id="1", status="pending", event_at=datetime(2025, 1, 3, 12, 0))
    with pytest.raises(RecordError, match="conversion id"):
        NetworkRecord(external_id="", status="pending")


def test_it_turns_a_record_into_conversion_data():
    record = NetworkRecord(
        external_id="170000101",
        click_id="hubclk7f3a9c",
        member_ref="m1a2b3c4d5e",
        status="approved",
        sale_amount=Decimal("138.00"),
        payout=Decimal("13.80"),
        currency="USD",
        event_at=datetime(2025, 1, 3, 18, 41, 28, tzinfo=UTC),
        locking_at=datetime(2025, 4, 20, 5, 0, tzinfo=UTC),
        order_ref="15139",
        raw={"transid": "170000101"},
    )
    data = to_conversion_data(record)
    assert (data.transaction_id, data.affiliate_id, data.external_id) == ("hubclk7f3a9c", "m1a2b3c4d5e", "170000101")
    assert (data.sale_amount, data.network_payout, data.status, data.currency) == (
        Decimal("138.00"),
        Decimal("13.80"),
        "approved",
        "USD",
    )
    assert data.event_at == record.event_at and data.locking_at == record.locking_at
    assert data.dedupe_key == "170000101"


def test_a_reversal_carries_only_the_status_and_an_edit_only_the_new_amounts():
    voided = NetworkChange(
        external_id="170000102", kind="reversal", old_sale_amount=Decimal("168.00"), old_payout=Decimal("16.80")
    )
    data = to_conversion_data(voided)
    assert data.status == "reversed" and data.sale_amount is None and data.network_payout is None
    edited = NetworkChange(external_id="170000103", kind="amount", sale_amount=Decimal("1057.32"), payout=Decimal("1"))
    data = to_conversion_data(edited)
    assert data.status is None and data.sale_amount == Decimal("1057.32") and data.network_payout == Decimal("1")
    with pytest.raises(RecordError):
        NetworkChange(external_id="1", kind="void")


def test_a_payment_is_a_plain_value():
    payment = NetworkPayment(date=date(2025, 2, 20), amount=Decimal("206.92"), currency="USD", reference="170000105")
    assert payment == NetworkPayment(
        date=date(2025, 2, 20), amount=Decimal("206.92"), currency="USD", reference="170000105", raw={"x": 1}
    )
