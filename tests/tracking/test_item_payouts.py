"""SKU-level items and payout rules: the maths in decimals, items from every network shape, the page."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from networks.awin import transaction_record
from networks.records import to_conversion_data
from networks.services.impact_actions import action_to_data
from networks.shareasale import sku_items
from offers.models import PayoutRule
from offers.payouts import Terms, compute_item_payout, item_payout_from_lines, rules_for
from tests.tracking.postback_world import make_world
from tracking.models import Conversion, ConversionItem
from tracking.postback_params import ParseError, parse_conversion
from tracking.reported import ConversionData, ReportedItem
from tracking.services import recompute_member_payout, record_conversion

D = Decimal
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PERCENT_10 = Terms("percent", D("0"), D("10"), "offer")


def rule(offer, match, value, **kw):
    position = PayoutRule.objects.filter(offer=offer).count() + 1
    return PayoutRule.objects.create(
        workspace=offer.workspace, offer=offer, match=match, value=value, position=position, **kw
    )


@pytest.fixture
def world(workspace):
    world = make_world(workspace, kind="generic")  # 10 % of the sale
    offer = world["offer"]
    rule(offer, "sku", "shoe-1", payout_type="flat", payout_flat=D("2.50"))
    rule(offer, "category", "Shoes", payout_type="percent", payout_percent=D("15"))
    rule(offer, "category", "shoes", payout_type="flat", payout_flat=D("99"))  # never reached: the one above wins
    return world


# --- the maths --------------------------------------------------------------------


def test_each_item_takes_the_first_matching_rule_and_the_rest_the_offers_terms(world):
    items = [
        ReportedItem(sku="SHOE-1", category="Shoes", quantity=3, sale_amount=D("90.00")),  # flat 2.50 x 3
        ReportedItem(sku="SHOE-2", category="shoes", quantity=1, sale_amount=D("33.33")),  # 15 % = 4.9995 -> 5.00
        ReportedItem(sku="HAT", category="Hats", quantity=1, sale_amount=D("20.00")),  # no rule: with the rest
    ]
    payout = compute_item_payout(
        terms=PERCENT_10,
        rules=rules_for(world["offer"].id),
        items=items,
        sale_amount=D("150.00"),
        network_payout=D("0"),
    )
    # 7.50 + 5.00 by rule; the rest of the sale is 150.00 - 123.33 = 26.67, at 10 % = 2.667 -> 2.67.
    assert payout.amount == D("15.17")
    lines = payout.basis["items"]
    assert [line["amount"] for line in lines] == ["7.50", "5.00", None]
    assert lines[0]["rule"] == "sku SHOE-1" and lines[1]["rule"] == "category SHOES"
    assert payout.basis["rest"] == {
        "sale_amount": "26.67",
        "network_payout": "0.00",
        "formula": "10% of sale 26.67 = 2.67",
        "amount": "2.67",
    }


def test_items_every_rule_prices_leave_no_rest(world):
    items = [ReportedItem(sku="shoe-1", quantity=2)]  # flat needs no amount
    payout = compute_item_payout(
        terms=Terms("flat", D("5.00"), D("0"), "offer"),
        rules=rules_for(world["offer"].id),
        items=items,
        sale_amount=D("80.00"),
        network_payout=D("8.00"),
    )
    assert payout.amount == D("5.00")  # 2.50 x 2; the offer's flat 5.00 is not added
    assert payout.basis["rest"]["amount"] == "0.00"


def test_a_percent_rule_skips_an_item_without_its_sale_amount(world):
    rules = rules_for(world["offer"].id)
    items = [ReportedItem(sku="BOOT", category="Shoes", quantity=1)]
    payout = compute_item_payout(terms=PERCENT_10, rules=rules, items=items, sale_amount=D("40"), network_payout=D("0"))
    # The 15 % rule cannot price it; the next rule for the category can (flat 99).
    assert (payout.basis["items"][0]["formula"], payout.amount) == ("flat 99.00 x 1 = 99.00", D("99.00"))
    only_percent = [r for r in rules if r.payout_type == "percent"]
    payout = compute_item_payout(
        terms=PERCENT_10, rules=only_percent, items=items, sale_amount=D("40"), network_payout=D("0")
    )
    assert payout.basis["items"][0]["rule"] is None
    assert payout.amount == D("4.00")


def test_a_later_amount_change_keeps_the_rule_lines_and_reprices_the_rest(world):
    items = [ReportedItem(sku="shoe-1", quantity=1, sale_amount=D("50.00")), ReportedItem(sku="X", quantity=1)]
    first = compute_item_payout(
        terms=PERCENT_10, rules=rules_for(world["offer"].id), items=items, sale_amount=D("100"), network_payout=D("0")
    )
    assert first.amount == D("7.50")  # 2.50 + 10 % of 50.00
    again = item_payout_from_lines(
        terms=PERCENT_10, lines=first.basis["items"], sale_amount=D("70.00"), network_payout=D("0")
    )
    assert again.amount == D("4.50")  # 2.50 + 10 % of 20.00


def priced_shoe_and_hat(world, shoes=1):
    """80.00 of shoes on one line (``shoes`` of them) priced by a 25 % rule, and a 20.00 hat
    priced with the rest at the offer's 10 %."""
    rule(world["offer"], "sku", "BIG", payout_type="percent", payout_percent=D("25"))
    items = [
        ReportedItem(sku="BIG", quantity=shoes, sale_amount=D("80.00")),  # 25 % = 20.00
        ReportedItem(sku="HAT", quantity=1, sale_amount=D("20.00")),  # with the rest: 10 % = 2.00
    ]
    first = compute_item_payout(
        terms=PERCENT_10, rules=rules_for(world["offer"].id), items=items, sale_amount=D("100"), network_payout=D("0")
    )
    assert first.amount == D("22.00")
    return first


def reprice(first, sale):
    return item_payout_from_lines(
        terms=PERCENT_10,
        lines=first.basis["items"],
        sale_amount=D(sale),
        network_payout=D("0"),
        priced_sale=D(first.basis["priced_sale_amount"]),
        priced_network=D(first.basis["priced_network_payout"]),
    )


def test_a_fall_by_exactly_a_rule_priced_line_returns_that_item(world):
    first = priced_shoe_and_hat(world)
    after = reprice(first, "20.00")  # the 80.00 item went back: only the hat is left
    assert after.amount == D("2.00")
    assert [line["counted"] for line in after.basis["items"]] == ["0.00", None]
    assert after.basis["items"][0]["change"] == "returned"
    assert after.basis["rest"]["sale_amount"] == "20.00"


def test_a_fall_by_exactly_an_unruled_line_keeps_the_rule_lines(world):
    first = priced_shoe_and_hat(world)
    assert reprice(first, "80.00").amount == D("20.00")  # the hat went back


def test_a_fall_no_set_of_lines_explains_comes_from_the_rest_then_shrinks_the_rule_lines(world):
    first = priced_shoe_and_hat(world)
    assert reprice(first, "90.00").amount == D("21.00")  # the rest absorbs 10.00: 20.00 + 10 % of 10.00
    shrunk = reprice(first, "60.00")  # the rest is gone and 20.00 of the ruled line too
    assert shrunk.amount == D("15.00")  # 20.00 x 60/80
    assert shrunk.basis["items"][0]["change"] == "scaled to 75% of its sale"
    assert reprice(first, "0").amount == D("0.00")


def test_repricing_starts_from_the_first_pricing_so_the_order_of_reports_does_not_matter(world):
    first = priced_shoe_and_hat(world)
    down = reprice(first, "20.00")
    # The stored basis of the lowered conversion, priced again at the full sale, is the first payout again.
    back = item_payout_from_lines(
        terms=PERCENT_10,
        lines=down.basis["items"],
        sale_amount=D("100.00"),
        network_payout=D("0"),
        priced_sale=D(down.basis["priced_sale_amount"]),
        priced_network=D(down.basis["priced_network_payout"]),
    )
    assert back.amount == first.amount
    assert reprice(first, "120.00").amount == D("24.00")  # a rise goes to the rest: 20.00 + 10 % of 40.00


def test_two_lines_that_could_each_explain_a_fall_return_neither(world):
    rule(world["offer"], "sku", "BIG", payout_type="percent", payout_percent=D("25"))
    items = [ReportedItem(sku="BIG", sale_amount=D("50.00")), ReportedItem(sku="HAT", sale_amount=D("50.00"))]
    first = compute_item_payout(
        terms=PERCENT_10, rules=rules_for(world["offer"].id), items=items, sale_amount=D("100"), network_payout=D("0")
    )
    assert reprice(first, "50.00").amount == D("12.50")  # which went back is unknown: the rest absorbs it


def test_a_fall_by_some_units_of_one_line_returns_those_units(world):
    first = priced_shoe_and_hat(world, shoes=2)
    after = reprice(first, "60.00")  # one of the two 40.00 shoes went back
    assert after.amount == D("12.00")  # 25 % of the kept 40.00 + 10 % of the hat
    shoe, hat = after.basis["items"]
    assert (shoe["counted"], shoe["change"], shoe["returned_units"]) == ("10.00", "1 of 2 units returned", 1)
    assert hat["change"] is None
    assert after.basis["rest"]["sale_amount"] == "20.00"


def test_a_flat_rule_line_keeps_its_amount_for_the_units_left(world):
    rule(world["offer"], "sku", "CAP", payout_type="flat", payout_flat=D("3.00"))
    items = [
        ReportedItem(sku="CAP", quantity=3, sale_amount=D("45.00")),  # 3 x 3.00 = 9.00
        ReportedItem(sku="HAT", quantity=1, sale_amount=D("20.00")),
    ]
    first = compute_item_payout(
        terms=PERCENT_10, rules=rules_for(world["offer"].id), items=items, sale_amount=D("65"), network_payout=D("0")
    )
    assert first.amount == D("11.00")
    assert reprice(first, "35.00").amount == D("5.00")  # two caps went back: 3.00 + the hat's 2.00


def test_a_whole_line_is_all_of_its_units(world):
    first = priced_shoe_and_hat(world, shoes=2)
    assert reprice(first, "80.00").amount == D("20.00")  # the hat went back (shoes are 40.00 each)
    both_shoes = reprice(first, "20.00")
    assert both_shoes.amount == D("2.00")
    assert both_shoes.basis["items"][0]["change"] == "returned"


def test_a_whole_line_or_units_of_another_return_neither(world):
    rule(world["offer"], "sku", "HAT", payout_type="percent", payout_percent=D("25"))
    items = [
        ReportedItem(sku="CAP", quantity=3, sale_amount=D("30.00")),  # with the rest: 10 % = 3.00
        ReportedItem(sku="HAT", quantity=1, sale_amount=D("20.00")),  # 25 % = 5.00
    ]
    first = compute_item_payout(
        terms=PERCENT_10, rules=rules_for(world["offer"].id), items=items, sale_amount=D("50"), network_payout=D("0")
    )
    assert first.amount == D("8.00")
    # 20.00 off is the hat or two caps: the rest absorbs it and the hat keeps its 5.00.
    after = reprice(first, "30.00")
    assert after.amount == D("6.00")
    assert all(line["change"] is None for line in after.basis["items"])


def test_units_that_explain_a_fall_two_ways_return_none(world):
    rule(world["offer"], "sku", "BIG", payout_type="percent", payout_percent=D("25"))
    items = [
        ReportedItem(sku="BIG", quantity=2, sale_amount=D("40.00")),  # 20.00 each, 25 % = 10.00
        ReportedItem(sku="HAT", quantity=4, sale_amount=D("40.00")),  # 10.00 each
    ]
    first = compute_item_payout(
        terms=PERCENT_10, rules=rules_for(world["offer"].id), items=items, sale_amount=D("80"), network_payout=D("0")
    )
    assert first.amount == D("14.00")
    # A fall of 20.00 is one shoe or two hats: the rest absorbs it.
    after = reprice(first, "60.00")
    assert after.amount == D("12.00")  # 10.00 + 10 % of 20.00
    assert all(line["change"] is None for line in after.basis["items"])


def test_units_whose_price_is_not_whole_cents_are_matched_to_the_cent_either_way(world):
    # Impact's own example: two tennis-ball dozens for 19.27 (9.635 each) and grip tape for 2.72.
    rule(world["offer"], "sku", "12345", payout_type="percent", payout_percent=D("20"))
    items = [
        ReportedItem(sku="12345", quantity=2, sale_amount=D("19.27")),  # 20 % = 3.85
        ReportedItem(sku="67890", quantity=1, sale_amount=D("2.72")),
    ]
    first = compute_item_payout(
        terms=PERCENT_10, rules=rules_for(world["offer"].id), items=items, sale_amount=D("21.99"), network_payout=D("0")
    )
    assert first.amount == D("4.12")  # 3.85 + 10 % of 2.72
    for kept_sale in ("12.35", "12.36"):  # one dozen went back, at 9.64 or 9.63
        after = reprice(first, kept_sale)
        assert after.basis["items"][0]["change"] == "1 of 2 units returned"
        assert after.amount == D("2.20")  # 3.85 / 2 = 1.925 -> 1.93, + 10 % of 2.72


def test_a_network_update_that_returns_the_ruled_item_lowers_the_members_payout(alice_client, world):
    rule(world["offer"], "sku", "BIG", payout_type="percent", payout_percent=D("25"))
    conn, click = world["connection"], world["click"]
    items = (ReportedItem(sku="BIG", sale_amount=D("80.00")), ReportedItem(sku="HAT", sale_amount=D("20.00")))
    data = ConversionData(external_id="O-9", transaction_id=click.transaction_id, sale_amount=D("100.00"), items=items)
    conversion = record_conversion(connection=conn, data=data, source="postback").conversion
    assert conversion.member_payout == D("22.00")
    update = ConversionData(external_id="O-9", transaction_id=click.transaction_id, sale_amount=D("20.00"))
    conversion = record_conversion(connection=conn, data=update, source="postback").conversion
    assert conversion.member_payout == D("2.00")
    # Recomputing with today's terms keeps the return: the items are priced against the first sale.
    assert recompute_member_payout(conversion=conversion).member_payout == D("2.00")
    page = alice_client.get(reverse("tracking:conversion_detail", kwargs={"code": conversion.code})).content.decode()
    assert "returned (was 20.00)" in page


# --- items from a postback and from each network -----------------------------------


def test_a_network_update_that_returns_one_unit_shows_it_on_the_conversion_page(alice_client, world):
    rule(world["offer"], "sku", "BIG", payout_type="percent", payout_percent=D("25"))
    conn, click = world["connection"], world["click"]
    items = (
        ReportedItem(sku="BIG", quantity=2, sale_amount=D("80.00")),
        ReportedItem(sku="HAT", sale_amount=D("20.00")),
    )
    data = ConversionData(external_id="O-10", transaction_id=click.transaction_id, sale_amount=D("100.00"), items=items)
    conversion = record_conversion(connection=conn, data=data, source="postback").conversion
    assert conversion.member_payout == D("22.00")
    update = ConversionData(external_id="O-10", transaction_id=click.transaction_id, sale_amount=D("60.00"))
    conversion = record_conversion(connection=conn, data=update, source="postback").conversion
    assert conversion.member_payout == D("12.00")
    assert recompute_member_payout(conversion=conversion).member_payout == D("12.00")
    page = alice_client.get(reverse("tracking:conversion_detail", kwargs={"code": conversion.code})).content.decode()
    assert "1 of 2 units returned (was 20.00)" in page


def test_a_postback_json_body_brings_items_that_are_stored_and_priced(client, world):
    conn = world["connection"]
    body = {
        "transaction_id": world["click"].transaction_id,
        "order_id": "O-1",
        "amount": "120.00",
        "items": [
            {"sku": "shoe-1", "qty": 2, "amt": "60.00", "category": "Shoes"},
            {"sku": "SOCK", "category": "Socks", "quantity": "3", "price": "5.00"},
            {"sku": "BOOT", "category": "SHOES", "amt": 45},
        ],
    }
    response = client.post(
        f"/postback/generic/{conn.postback_secret}", json.dumps(body), content_type="application/json"
    )
    assert response.content == b"accepted"
    conversion = Conversion.objects.get()
    stored = list(
        ConversionItem.objects.filter(conversion=conversion)
        .order_by("id")
        .values_list("sku", "quantity", "sale_amount")
    )
    assert stored == [("shoe-1", 2, D("60.00")), ("SOCK", 3, D("15.00")), ("BOOT", 1, D("45.00"))]
    # 2.50 x 2 = 5.00; 15 % of 45.00 = 6.75; the socks with the rest: 10 % of 15.00 = 1.50.
    assert conversion.member_payout == D("13.25")
    assert conversion.payout_basis["rest"]["sale_amount"] == "15.00"


def test_a_postback_with_bad_items_is_refused_with_the_line_named(client, world):
    params = {"transaction_id": "t", "items": json.dumps([{"sku": "A", "qty": "0"}])}
    with pytest.raises(ParseError, match=r"items\[0\]\.qty"):
        parse_conversion(params, network="generic")
    with pytest.raises(ParseError, match="JSON array"):
        parse_conversion({"transaction_id": "t", "items": "nope"}, network="generic")


def test_impact_action_items_become_items(world):
    sample = json.loads((FIXTURES / "impact" / "impact_action_items.json").read_text())
    data = action_to_data(
        {"Id": "1000.4636.158133", "State": "PENDING", "Amount": "21.99"},
        world["connection"],
        tuple(sample["ActionItems"]),
    )
    assert data.items == (
        ReportedItem(
            sku="12345",
            name="Acme Tennis Balls (One Dozen)",
            category="Sports",
            quantity=2,
            sale_amount=D("19.27"),
            network_payout=D("0.77"),
        ),
        ReportedItem(
            sku="67890",
            name="Acme Grip Tape",
            category="Sports",
            quantity=1,
            sale_amount=D("2.72"),
            network_payout=D("0.11"),
        ),
    )


def test_shareasale_sku_and_quantity_lists_become_items():
    assert sku_items({"skulist": "A1,B2, C3", "quantitylist": "2,1"}, "170000101") == (
        ReportedItem(sku="A1", quantity=2),
        ReportedItem(sku="B2", quantity=1),
        ReportedItem(sku="C3", quantity=1),
    )
    assert sku_items({"skulist": "", "quantitylist": ""}, "1") == ()


def test_awin_transaction_parts_become_items():
    tx = json.loads((FIXTURES / "awin" / "transactions.json").read_text(), parse_float=D)[0]
    data = to_conversion_data(transaction_record(tx))
    assert data.items == (
        ReportedItem(sku="1234", name="Default", category="DEFAULT", sale_amount=D("55.96"), network_payout=D("5.59")),
    )


def test_a_sync_page_stores_items_through_the_batch_insert(world):
    from networks.bulk import insert_new_conversions

    data = ConversionData(
        external_id="S1",
        transaction_id=world["click"].transaction_id,
        sale_amount=D("100.00"),
        items=(ReportedItem(sku="shoe-1", quantity=4, sale_amount=D("100.00")),),
    )
    assert insert_new_conversions(connection=world["connection"], items=[data], source="api_sync") == (1, [])
    conversion = Conversion.objects.get()
    assert conversion.member_payout == D("10.00")
    assert conversion.items.get().quantity == 4


def test_recomputing_uses_the_stored_items_and_todays_rules(world):
    data = ConversionData(
        external_id="R1",
        transaction_id=world["click"].transaction_id,
        sale_amount=D("100.00"),
        items=(ReportedItem(sku="shoe-1", quantity=1, sale_amount=D("100.00")),),
    )
    conversion = record_conversion(connection=world["connection"], data=data, source="postback").conversion
    assert conversion.member_payout == D("2.50")
    PayoutRule.objects.filter(value="shoe-1").update(payout_flat=D("4.00"))
    assert recompute_member_payout(conversion=conversion).member_payout == D("4.00")


def test_the_conversion_page_shows_each_item_line(alice_client, world):
    data = ConversionData(
        external_id="P1",
        transaction_id=world["click"].transaction_id,
        sale_amount=D("80.00"),
        items=(ReportedItem(sku="shoe-1", quantity=2, sale_amount=D("50.00")), ReportedItem(sku="CAP", quantity=1)),
    )
    conversion = record_conversion(connection=world["connection"], data=data, source="postback").conversion
    page = alice_client.get(reverse("tracking:conversion_detail", kwargs={"code": conversion.code})).content.decode()
    assert 'id="payout-items"' in page
    assert "flat 2.50 x 2 = 5.00" in page and "10% of sale 30.00 = 3.00" in page


def test_a_conversion_without_items_shows_no_item_table(alice_client, world):
    data = ConversionData(external_id="P2", transaction_id=world["click"].transaction_id, sale_amount=D("80.00"))
    conversion = record_conversion(connection=world["connection"], data=data, source="postback").conversion
    page = alice_client.get(reverse("tracking:conversion_detail", kwargs={"code": conversion.code})).content.decode()
    assert 'id="payout-items"' not in page
    assert conversion.member_payout == D("8.00")
