"""Member payout maths (offers/payouts.py)."""

from decimal import Decimal

import pytest

from offers.models import PayoutOverride
from offers.payouts import Terms, compute_payout, no_offer_payout, terms_for, terms_from_basis
from tests.tracking.postback_world import make_world

D = Decimal


@pytest.mark.parametrize(
    "payout_type, flat, percent, sale, network, expected",
    [
        ("flat", "5.00", "0", "100.00", "3.00", "5.00"),
        ("percent", "0", "12.5", "84.50", "3.00", "10.56"),  # 10.5625 rounds half up to 10.56
        ("percent", "0", "10", "0.05", "0", "0.01"),  # 0.005 rounds half up
        ("flat_percent", "2.00", "5", "100.00", "0", "7.00"),
        ("passthrough", "0", "0", "100.00", "8.80", "8.80"),
        ("percent", "0", "0", "100.00", "8.80", "0.00"),
    ],
)
def test_it_computes_each_payout_option(payout_type, flat, percent, sale, network, expected):
    terms = Terms(payout_type, D(flat), D(percent), "offer")
    payout = compute_payout(terms=terms, sale_amount=D(sale), network_payout=D(network))
    assert payout.amount == D(expected)
    assert payout.basis["amount"] == expected
    assert payout.basis["formula"].endswith(f"= {expected}")


def test_the_basis_round_trips_to_the_same_terms():
    terms = Terms("flat_percent", D("2.00"), D("5.000"), "override")
    basis = compute_payout(terms=terms, sale_amount=D("10.00"), network_payout=D("0")).basis
    assert terms_from_basis(basis) == terms
    assert terms_from_basis(no_offer_payout("unattributed").basis) is None


def test_an_unknown_payout_type_is_an_error():
    with pytest.raises(ValueError):
        compute_payout(terms=Terms("cpm", D("0"), D("0"), "offer"), sale_amount=D("1"), network_payout=D("0"))


def test_terms_prefer_the_members_override(workspace):
    world = make_world(workspace)
    assert terms_for(offer=world["offer"], member=world["member"]).origin == "offer"
    PayoutOverride.objects.create(
        workspace=workspace, offer=world["offer"], member=world["member"], payout_type="flat", payout_flat=D("3.00")
    )
    terms = terms_for(offer=world["offer"], member=world["member"])
    assert (terms.payout_type, terms.flat, terms.origin) == ("flat", D("3.00"), "override")
    assert terms_for(offer=world["offer"], member=None).origin == "offer"
