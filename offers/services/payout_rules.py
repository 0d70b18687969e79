"""Payout rules: an offer's payouts per SKU or category, tried in order (offers/payouts.py prices with them)."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from offers.models import Offer, PayoutRule
from workspaces.errors import DomainError

MAX_RULES = 200


def payout_rule_problems(*, match: str, value: str, payout_type: str, flat, percent) -> dict[str, str]:
    """Field -> why the rule cannot be saved (empty when it can)."""
    problems = {}
    if match not in PayoutRule.Match.values:
        problems["match"] = "Choose SKU or category."
    if not value.strip():
        problems["value"] = "Enter the SKU or category this rule prices."
    elif len(value.strip()) > 100:
        problems["value"] = "At most 100 characters."
    if payout_type == PayoutRule.Kind.FLAT and (flat is None or flat < 0):
        problems["payout_flat"] = "Enter a flat amount per unit (0 or more)."
    if payout_type == PayoutRule.Kind.PERCENT and (percent is None or not Decimal("0") <= percent <= Decimal("100")):
        problems["payout_percent"] = "Enter a percent from 0 to 100."
    if payout_type not in PayoutRule.Kind.values:
        problems["payout_type"] = "Choose a flat amount or a percent."
    return problems


@transaction.atomic
def add_payout_rule(
    *, offer: Offer, match: str, value: str, payout_type: str, payout_flat=None, payout_percent=None
) -> PayoutRule:
    """Add a rule after the offer's others (rules are tried in order; the first match wins)."""
    problems = payout_rule_problems(
        match=match, value=value, payout_type=payout_type, flat=payout_flat, percent=payout_percent
    )
    if problems:
        raise DomainError(next(iter(problems.values())))
    Offer.objects.select_for_update().filter(pk=offer.pk).first()  # one rule added at a time per offer
    rules = PayoutRule.objects.filter(offer=offer)
    if rules.count() >= MAX_RULES:
        raise DomainError(f"An offer has at most {MAX_RULES} payout rules.")
    position = (rules.aggregate(m=Max("position"))["m"] or 0) + 1
    flat = payout_flat if payout_type == PayoutRule.Kind.FLAT else Decimal("0.00")
    percent = payout_percent if payout_type == PayoutRule.Kind.PERCENT else Decimal("0.000")
    return PayoutRule.objects.create(
        workspace_id=offer.workspace_id,
        offer=offer,
        position=position,
        match=match,
        value=value.strip(),
        payout_type=payout_type,
        payout_flat=flat,
        payout_percent=percent,
    )


@transaction.atomic
def move_payout_rule_up(*, rule: PayoutRule) -> None:
    """Swap the rule with the one tried before it (nothing when it is first)."""
    rules = list(PayoutRule.objects.select_for_update().filter(offer_id=rule.offer_id).order_by("position", "id"))
    index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    if index == 0:
        return
    rules[index - 1], rules[index] = rules[index], rules[index - 1]
    for position, r in enumerate(rules, start=1):
        if r.position != position:
            r.position = position
            r.save(update_fields=["position", "updated_at"])


def delete_payout_rule(*, rule: PayoutRule) -> None:
    """Remove a rule; conversions already priced keep their payout (their maths is stored with them)."""
    rule.delete()
