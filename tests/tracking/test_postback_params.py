"""Pure parsing of postback parameters (tracking/postbacks.py): names, amounts, statuses, dates."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tracking.postback_params import (
    ParseError,
    parse_amount,
    parse_conversion,
    parse_date,
    parse_params,
    parse_status,
    pick,
)
from tracking.reported import MAX_AMOUNT

NOW = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


def conv(query="", network="generic", body=b"", content_type=""):
    return parse_conversion(parse_params(query=query, body=body, content_type=content_type), network=network, now=NOW)


# --- names -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["transaction_id", "subId1", "SubId1", "afftrack", "clickref2", "aff_sub", "click_id"])
def test_every_click_id_name_is_accepted_in_any_case(name):
    assert conv(f"{name}=abc123").transaction_id == "abc123"
    assert conv(f"{name.upper()}=abc123").transaction_id == "abc123"


@pytest.mark.parametrize("name", ["affiliate_id", "subId2", "SubId2", "aff_id"])
def test_every_member_name_is_accepted(name):
    assert conv(f"transaction_id=t&{name}=m42").affiliate_id == "m42"


@pytest.mark.parametrize("name", ["action_id", "ActionId", "transID", "order_id", "adv_sub", "Oid"])
def test_every_conversion_id_name_is_accepted(name):
    assert conv(f"transaction_id=t&{name}=X-1").external_id == "X-1"


def test_impact_action_id_wins_over_oid():
    # Impact's sample sends both; the ActionId is what the API sync dedupes on too.
    data = conv("subid1=t&oid=9217374917472&action_id=1000.4636.158133")
    assert data.external_id == "1000.4636.158133"
    assert data.order_ref == "9217374917472"  # the brand's order id, kept for duplicate-order checks


@pytest.mark.parametrize("name", ["order_ref", "orderRef", "order_id", "OrderId", "Oid", "order_number"])
def test_every_order_id_name_is_kept_as_the_order_reference(name):
    assert conv(f"transaction_id=t&{name}=ORD-77").order_ref == "ORD-77"
    assert conv("transaction_id=t").order_ref == ""


@pytest.mark.parametrize("name", ["amount", "Amount", "amountOfSale", "sale_amount"])
def test_every_sale_amount_name_is_accepted(name):
    assert conv(f"transaction_id=t&{name}=21.99").sale_amount == Decimal("21.99")


@pytest.mark.parametrize("name", ["payout", "Payout", "commission"])
def test_every_payout_name_is_accepted(name):
    assert conv(f"transaction_id=t&{name}=0.88").network_payout == Decimal("0.88")


def test_unfilled_macros_count_as_absent():
    assert conv("transaction_id=t&amount={Amount}&payout=!!commission!!").sale_amount is None
    with pytest.raises(ParseError, match="missing transaction_id"):
        conv("subid1={SubId1}&amount=1.00")


def test_a_conversion_id_alone_is_enough_but_nothing_is_not():
    assert conv("action_id=1000.1").external_id == "1000.1"
    with pytest.raises(ParseError, match="missing transaction_id"):
        conv("amount=1.00&affiliate_id=m1")


def test_ids_must_be_printable_ascii_and_bounded():
    with pytest.raises(ParseError, match="printable ASCII"):
        conv("transaction_id=a%20b")
    with pytest.raises(ParseError, match="printable ASCII"):
        conv("transaction_id=%C3%A9t%C3%A9")
    with pytest.raises(ParseError, match="longer than 255"):
        conv("transaction_id=" + "a" * 256)
    assert pick({"aff_sub": " t1 "}, "transaction_id") == ("aff_sub", "t1")


# --- sources ---------------------------------------------------------------


def test_form_body_and_json_body_are_read():
    assert conv(body=b"afftrack=t1&amountOfSale=5.00", content_type="application/x-www-form-urlencoded").sale_amount
    data = conv(
        body=json.dumps({"subid1": "t2", "amount": 21.99, "items": [{"sku": "x"}]}).encode(),
        content_type="application/json; charset=utf-8",
    )
    assert (data.transaction_id, data.sale_amount) == ("t2", Decimal("21.99"))


def test_the_body_overrides_the_query_string():
    data = conv("transaction_id=t&amount=1.00", body=b"amount=2.00", content_type="application/x-www-form-urlencoded")
    assert data.sale_amount == Decimal("2.00")


@pytest.mark.parametrize(
    "query, body, content_type, reason",
    [
        ("transaction_id=%FF%FE", b"", "", "query string is not valid UTF-8"),
        ("", b"transaction_id=\xff", "application/x-www-form-urlencoded", "body is not valid UTF-8"),
        ("", b"{not json", "application/json", "not valid JSON"),
        ("", b"[1, 2]", "application/json", "must be an object"),
        ("", b"<xml/>", "application/xml", "unsupported content type"),
        ("transaction_id=a%00b", b"", "", "NUL"),
        ("&".join(f"p{i}=1" for i in range(150)), b"", "", "too many parameters"),
    ],
)
def test_malformed_requests_are_rejected_with_a_reason(query, body, content_type, reason):
    with pytest.raises(ParseError, match=reason):
        parse_params(query=query, body=body, content_type=content_type)


# --- amounts ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, network, expected",
    [
        ("12.50", "generic", "12.50"),
        ("12", "impact", "12.00"),
        ("0", "generic", "0.00"),
        ("0.125", "generic", "0.13"),  # half-up to cents
        ("8.44999", "generic", "8.45"),
        ("$12.50", "shareasale", "12.50"),
        ("$1,234.50", "shareasale", "1234.50"),
        ("1,234", "shareasale", "1234.00"),
        ("12,50", "awin", "12.50"),
        ("12.50", "awin", "12.50"),
    ],
)
def test_amounts_parse_strictly(text, network, expected):
    assert parse_amount(text, network=network) == Decimal(expected)


@pytest.mark.parametrize(
    "text, network",
    [
        ("12,50", "generic"),
        ("12,50", "impact"),
        ("12,50", "shareasale"),
        ("$12.50", "impact"),
        ("NaN", "generic"),
        ("nan", "shareasale"),
        ("Infinity", "generic"),
        ("-inf", "generic"),
        ("1e3", "generic"),
        ("1E+3", "impact"),
        ("0x10", "generic"),
        ("+5", "generic"),
        ("1.0000001", "generic"),
        ("١٢", "generic"),  # Arabic-Indic digits
        ("12.", "generic"),
        (".5", "generic"),
        ("", "generic"),
        ("1 000", "generic"),
        ("1,2,3", "awin"),
    ],
)
def test_bad_amounts_are_rejected(text, network):
    with pytest.raises(ParseError):
        parse_amount(text, network=network)


def test_absurd_and_negative_amounts_are_rejected_with_the_name():
    with pytest.raises(ParseError, match="amount is above the maximum"):
        conv(f"transaction_id=t&amount={MAX_AMOUNT + 1}")
    with pytest.raises(ParseError, match="payout is negative"):
        conv("transaction_id=t&payout=-1.00")
    assert conv(f"transaction_id=t&amount={MAX_AMOUNT}").sale_amount == MAX_AMOUNT


# --- statuses, currency, dates ----------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("PENDING", "pending"),
        ("APPROVED", "approved"),
        ("REVERSED", "reversed"),
        ("pending", "pending"),
        ("approved", "approved"),
        ("rejected", "rejected"),
        ("Locked", "approved"),
        ("voided", "reversed"),
    ],
)
def test_statuses_are_normalised(text, expected):
    assert parse_status(text) == expected


def test_unknown_status_and_bad_currency_are_rejected():
    with pytest.raises(ParseError, match="unknown status"):
        conv("transaction_id=t&status=maybe")
    with pytest.raises(ParseError, match="3-letter"):
        conv("transaction_id=t&currency=dollars")
    assert conv("transaction_id=t&Currency=usd").currency == "USD"
    assert conv("transaction_id=t").status is None


def test_dates_in_each_network_format():
    impact = parse_date("2024-09-10T10:42:38-07:00")
    assert impact == datetime(2024, 9, 10, 17, 42, 38, tzinfo=UTC)
    shareasale = parse_date("2025-01-03 12:41:28", network="shareasale")
    assert shareasale.astimezone(UTC) == datetime(2025, 1, 3, 18, 41, 28, tzinfo=UTC)  # US Central, CST
    assert parse_date("2025-01-03 12:41:28").tzinfo == UTC
    assert parse_date("1736000000") == datetime.fromtimestamp(1736000000, tz=UTC)
    assert parse_date("2024-09-10T17:42:38Z") == impact


@pytest.mark.parametrize(
    "query, reason",
    [
        ("event_date=yesterday", "event_date is not a date"),
        ("EventDate=1999-12-31T00:00:00Z", "before 2000"),
        ("transDate=2025-02-10 00:00:00", "in the future"),
        ("event_date=99999999999", "in the future"),
        ("event_date=999999999999999999", "not a date"),
        ("event_date=2025-13-45", "not a date"),
    ],
)
def test_bad_dates_are_rejected(query, reason):
    with pytest.raises(ParseError, match=reason):
        conv("transaction_id=t&" + query)


def test_locking_date_may_be_in_the_future():
    data = conv("action_id=1&locking_date=2025-01-26T00:00:00-07:00")
    assert data.locking_at == datetime(2025, 1, 26, 7, tzinfo=UTC)
