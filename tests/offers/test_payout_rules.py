"""Payout rules on the offer page: add (errors by the fields), reorder, remove; who may."""

from decimal import Decimal

from django.urls import reverse

from offers import services
from offers.models import PayoutRule
from tests.conftest import set_role


def add(client, offer, **data):
    return client.post(reverse("offers:add_payout_rule", kwargs={"code": offer.code}), data)


def test_it_adds_rules_in_the_order_they_are_tried(alice_client, offer):
    assert (
        add(alice_client, offer, match="sku", value=" SKU-1 ", payout_type="flat", payout_flat="2.50").status_code
        == 302
    )
    add(alice_client, offer, match="category", value="Shoes", payout_type="percent", payout_percent="12.5")
    rules = list(offer.payout_rules.order_by("position"))
    assert [(r.value, r.payout_type, r.payout_flat, r.payout_percent) for r in rules] == [
        ("SKU-1", "flat", Decimal("2.50"), Decimal("0.000")),
        ("Shoes", "percent", Decimal("0.00"), Decimal("12.500")),
    ]
    page = alice_client.get(reverse("tracking:offer_detail", kwargs={"code": offer.code})).content.decode()
    assert "SKU-1" in page and "12.50% of the item's sale" in page


def test_a_rule_without_its_amount_is_refused_next_to_the_field(alice_client, offer):
    response = add(alice_client, offer, match="sku", value="A", payout_type="percent", payout_percent="")
    assert response.status_code == 302
    page = alice_client.get(response["Location"]).content.decode()
    assert "Payout rule not added: Enter a percent from 0 to 100." in page
    assert not PayoutRule.objects.exists()


def test_it_moves_a_rule_up_and_removes_one(alice_client, offer):
    first = services.add_payout_rule(offer=offer, match="sku", value="A", payout_type="flat", payout_flat=Decimal("1"))
    second = services.add_payout_rule(offer=offer, match="sku", value="B", payout_type="flat", payout_flat=Decimal("2"))
    alice_client.post(reverse("offers:move_payout_rule_up", kwargs={"code": second.code}))
    assert list(offer.payout_rules.order_by("position").values_list("value", flat=True)) == ["B", "A"]
    alice_client.post(reverse("offers:delete_payout_rule", kwargs={"code": first.code}))
    assert list(offer.payout_rules.values_list("value", flat=True)) == ["B"]


def test_it_requires_write_access(bob_client, bob, workspace, offer):
    set_role(bob, workspace, "viewer")
    rule = services.add_payout_rule(offer=offer, match="sku", value="A", payout_type="flat", payout_flat=Decimal("1"))
    assert add(bob_client, offer, match="sku", value="B", payout_type="flat", payout_flat="1").status_code == 403
    assert bob_client.post(reverse("offers:delete_payout_rule", kwargs={"code": rule.code})).status_code == 403
    assert PayoutRule.objects.count() == 1


def test_it_checks_ownership(charlie_client, offer):
    rule = services.add_payout_rule(offer=offer, match="sku", value="A", payout_type="flat", payout_flat=Decimal("1"))
    assert add(charlie_client, offer, match="sku", value="B", payout_type="flat", payout_flat="1").status_code == 404
    assert charlie_client.post(reverse("offers:delete_payout_rule", kwargs={"code": rule.code})).status_code == 404
    assert charlie_client.post(reverse("offers:move_payout_rule_up", kwargs={"code": rule.code})).status_code == 404
    assert PayoutRule.objects.count() == 1
