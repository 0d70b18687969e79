"""Property-based: item pricing under later reports. Whatever the lines, rules and terms, a lower
sale never pays more than the first report did, the first amounts give the first payout back,
and the payout depends only on the first report and the latest amounts."""

import os
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from offers.payouts import ItemRule, Terms, compute_item_payout, item_payout_from_lines
from tracking.reported import ReportedItem

CENTS = Decimal("0.01")


RULES = (
    ItemRule("sku", "FLAT", "flat", Decimal("2.50"), Decimal("0")),
    ItemRule("sku", "PCT", "percent", Decimal("0"), Decimal("25")),
)

terms = st.sampled_from(
    [
        Terms("flat", Decimal("4.00"), Decimal("0"), "offer"),
        Terms("percent", Decimal("0"), Decimal("10"), "offer"),
        Terms("flat_percent", Decimal("1.00"), Decimal("5"), "offer"),
    ]
)
lines = st.lists(
    st.builds(
        lambda sku, quantity, unit_cents, odd_cents: ReportedItem(
            sku=sku, quantity=quantity, sale_amount=Decimal(unit_cents * quantity + odd_cents) * CENTS
        ),
        st.sampled_from(["FLAT", "PCT", "OTHER"]),
        st.integers(min_value=1, max_value=4),
        st.integers(min_value=1, max_value=5_000),
        st.sampled_from([0, 0, 1, 3]),  # some lines whose units are not priced in whole cents
    ),
    min_size=1,
    max_size=5,
)


def first_pricing(items, extra_cents: int, terms_: Terms):
    sale = sum((item.sale_amount for item in items), Decimal("0")) + Decimal(extra_cents) * CENTS
    return sale, compute_item_payout(
        terms=terms_, rules=RULES, items=items, sale_amount=sale, network_payout=Decimal("0")
    )


def reprice(payout, terms_: Terms, sale: Decimal):
    return item_payout_from_lines(
        terms=terms_,
        lines=payout.basis["items"],
        sale_amount=sale,
        network_payout=Decimal("0"),
        priced_sale=Decimal(payout.basis["priced_sale_amount"]),
        priced_network=Decimal(payout.basis["priced_network_payout"]),
    )


PROPERTIES = settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "300")), deadline=None)


@PROPERTIES
@given(terms, lines, st.integers(min_value=0, max_value=2_000), st.data())
def test_a_lower_sale_never_pays_more_than_the_first_report(terms_, items, extra_cents, data):
    sale, first = first_pricing(items, extra_cents, terms_)
    fall = Decimal(data.draw(st.integers(min_value=0, max_value=int(sale / CENTS)))) * CENTS
    after = reprice(first, terms_, sale - fall)
    assert Decimal("0") <= after.amount <= first.amount
    counted = [Decimal(line["counted"]) for line in after.basis["items"] if line["counted"] is not None]
    assert all(amount >= 0 for amount in counted)


@PROPERTIES
@given(terms, lines, st.integers(min_value=0, max_value=2_000))
def test_the_first_amounts_give_the_first_payout(terms_, items, extra_cents):
    sale, first = first_pricing(items, extra_cents, terms_)
    assert reprice(first, terms_, sale).amount == first.amount


@PROPERTIES
@given(terms, lines, st.integers(min_value=0, max_value=2_000), st.data())
def test_the_payout_depends_only_on_the_first_report_and_the_latest_amounts(terms_, items, extra_cents, data):
    sale, first = first_pricing(items, extra_cents, terms_)
    top = int(sale / CENTS) + 5_000
    middle, last = (Decimal(data.draw(st.integers(min_value=0, max_value=top))) * CENTS for _ in range(2))
    through_middle = reprice(reprice(first, terms_, middle), terms_, last)
    assert through_middle.amount == reprice(first, terms_, last).amount


def unit_choices_adding_up_to(items, fall: Decimal) -> int:
    """How many choices of returned units add up to ``fall``, counted the long way (a unit's price
    is its share of the line's sale, to the cent either way)."""
    steps = []
    for item in items:
        prices = {Decimal("0"): {0}}
        for units in range(1, item.quantity + 1):
            share = item.sale_amount * units / item.quantity
            for price in (
                share.quantize(CENTS, rounding="ROUND_FLOOR"),
                share.quantize(CENTS, rounding="ROUND_CEILING"),
            ):
                prices.setdefault(price, set()).add(units)
        steps.append([(price, units) for price, unit_counts in prices.items() for units in unit_counts])
    totals = [(Decimal("0"), ())]
    for options in steps:
        totals = [(total + price, (*chosen, units)) for total, chosen in totals for price, units in options]
    return len({chosen for total, chosen in totals if total == fall})


@PROPERTIES
@given(terms, lines, st.integers(min_value=0, max_value=2_000), st.data())
def test_units_of_one_line_that_alone_explain_a_fall_go_back(terms_, items, extra_cents, data):
    sale, first = first_pricing(items, extra_cents, terms_)
    index = data.draw(st.integers(min_value=0, max_value=len(items) - 1))
    item = items[index]
    units = data.draw(st.integers(min_value=1, max_value=item.quantity))
    rounding = data.draw(st.sampled_from(["ROUND_FLOOR", "ROUND_CEILING"]))
    fall = (item.sale_amount * units / item.quantity).quantize(CENTS, rounding=rounding)
    after = reprice(first, terms_, sale - fall)
    line, first_line = after.basis["items"][index], first.basis["items"][index]
    if unit_choices_adding_up_to(items, fall) != 1:
        assert all(not (each.get("change") or "").endswith("returned") for each in after.basis["items"])
        return
    assert line["returned_units"] == units
    if first_line["amount"] is not None:
        kept = Decimal(first_line["amount"]) * (item.quantity - units) / item.quantity
        assert Decimal(line["counted"]) == kept.quantize(CENTS, rounding="ROUND_HALF_UP")
        assert after.basis["rest"] == first.basis["rest"]  # the rest did not pay for the ruled units
    else:
        assert after.amount <= first.amount
