"""Member payout maths: what a member earns for one conversion.

The terms (payout type, flat amount, percent) come from the offer, or from the
member's PayoutOverride on that offer when one exists. The result carries the
terms and the arithmetic as a plain dict (``basis``) so the conversion keeps
the maths it was paid by, and the detail page can show it.

Amounts are rounded half-up to cents, once, at the end.

A conversion that arrives with its order's items is priced line by line when its offer
has payout rules (``compute_item_payout``): the first rule that matches an item's SKU or
category prices it (flat per unit, or percent of the line's sale); the items no rule
matches are priced together, with the terms above, on what is left of the sale (and of
the network's payout). Each line's rounding is its own (cents, half-up).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from offers.models import Member, Offer, PayoutOverride, PayoutRule, PayoutType

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Terms:
    payout_type: str
    flat: Decimal
    percent: Decimal
    origin: str  # "offer" or "override"


@dataclass(frozen=True)
class Payout:
    amount: Decimal
    basis: dict


def terms_for(*, offer: Offer, member: Member | None, has_override: bool | None = None) -> Terms:
    """The offer's payout option, replaced by the member's override when one exists.

    One query, skipped when the caller already knows there is no override (``has_override=False``).
    """
    override = None
    if member is not None and has_override is not False:
        override = PayoutOverride.objects.filter(offer=offer, member=member).first()
    if override is not None:
        return Terms(override.payout_type, override.payout_flat, override.payout_percent, "override")
    return Terms(offer.payout_type, offer.payout_flat, offer.payout_percent, "offer")


def terms_from_basis(basis: dict) -> Terms | None:
    """The terms a conversion was first paid by, read back from its stored basis."""
    try:
        return Terms(basis["payout_type"], Decimal(basis["flat"]), Decimal(basis["percent"]), basis["origin"])
    except (KeyError, TypeError, ArithmeticError, ValueError):
        return None


def compute_payout(*, terms: Terms, sale_amount: Decimal, network_payout: Decimal) -> Payout:
    """Apply ``terms`` to one conversion's amounts."""
    if terms.payout_type == PayoutType.FLAT:
        raw = terms.flat
        formula = f"flat {terms.flat}"
    elif terms.payout_type == PayoutType.PERCENT:
        raw = sale_amount * terms.percent / HUNDRED
        formula = f"{_pct(terms.percent)}% of sale {sale_amount}"
    elif terms.payout_type == PayoutType.FLAT_PERCENT:
        raw = terms.flat + sale_amount * terms.percent / HUNDRED
        formula = f"flat {terms.flat} + {_pct(terms.percent)}% of sale {sale_amount}"
    elif terms.payout_type == PayoutType.PASSTHROUGH:
        raw = network_payout
        formula = f"network payout {network_payout} passed through"
    else:
        raise ValueError(f"unknown payout type {terms.payout_type!r}")
    amount = max(raw, Decimal("0")).quantize(CENT, rounding=ROUND_HALF_UP)
    basis = {
        "payout_type": terms.payout_type,
        "flat": str(terms.flat),
        "percent": str(terms.percent),
        "origin": terms.origin,
        "sale_amount": str(sale_amount),
        "network_payout": str(network_payout),
        "formula": f"{formula} = {amount}",
        "amount": str(amount),
    }
    return Payout(amount, basis)


def no_offer_payout(reason: str) -> Payout:
    """An unattributed conversion (or one without an offer) earns nothing until it is attributed."""
    return Payout(Decimal("0.00"), {"payout_type": None, "formula": reason, "amount": "0.00"})


def _pct(value: Decimal) -> str:
    # 5.000 -> "5", 2.500 -> "2.5": the way people write percentages.
    return format(value.normalize(), "f")


# --- items and payout rules -------------------------------------------------------


@dataclass(frozen=True)
class ItemRule:
    match: str  # "sku" or "category"
    value: str  # upper-cased: rules match without regard to case
    payout_type: str  # "flat" (per unit) or "percent" (of the line's sale)
    flat: Decimal
    percent: Decimal

    @property
    def label(self) -> str:
        return f"{self.match} {self.value}"

    def applies_to(self, item) -> bool:
        """The rule names the item's SKU or category and can price it (a percent needs the line's sale)."""
        field = item.sku if self.match == PayoutRule.Match.SKU else item.category
        if field.strip().upper() != self.value:
            return False
        return self.payout_type == PayoutRule.Kind.FLAT or item.sale_amount is not None

    def price(self, item) -> tuple[Decimal, str]:
        if self.payout_type == PayoutRule.Kind.FLAT:
            amount = (self.flat * item.quantity).quantize(CENT, rounding=ROUND_HALF_UP)
            return amount, f"flat {self.flat} x {item.quantity} = {amount}"
        amount = (item.sale_amount * self.percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
        return amount, f"{_pct(self.percent)}% of {item.sale_amount} = {amount}"


def item_rule(rule: PayoutRule) -> ItemRule:
    return ItemRule(rule.match, rule.value.strip().upper(), rule.payout_type, rule.payout_flat, rule.payout_percent)


def rules_for(offer_id: int) -> tuple[ItemRule, ...]:
    """The offer's payout rules in the order they are tried (one query)."""
    return tuple(item_rule(r) for r in PayoutRule.objects.filter(offer_id=offer_id).order_by("position", "id"))


def compute_item_payout(*, terms: Terms, rules, items, sale_amount: Decimal, network_payout: Decimal) -> Payout:
    """Price a conversion line by line (``items``: objects with sku, category, quantity,
    sale_amount and network_payout), first matching rule wins; the rest with ``terms``."""
    lines = []
    for item in items:
        rule = next((r for r in rules if r.applies_to(item)), None)
        line = {
            "sku": item.sku,
            "category": item.category,
            "quantity": item.quantity,
            "sale_amount": _text(item.sale_amount),
            "network_payout": _text(item.network_payout),
            "rule": None,
            "formula": "no rule: priced with the rest",
            "amount": None,
        }
        if rule is not None:
            amount, formula = rule.price(item)
            line.update(rule=rule.label, formula=formula, amount=str(amount))
        lines.append(line)
    return item_payout_from_lines(terms=terms, lines=lines, sale_amount=sale_amount, network_payout=network_payout)


def item_payout_from_lines(*, terms: Terms, lines: list[dict], sale_amount: Decimal, network_payout: Decimal) -> Payout:
    """The payout of priced ``lines`` (as stored in a basis) plus the rest of the sale with ``terms``.

    A conversion's amounts may change later (a network's update): its rule-priced lines
    keep their payout and the rest is priced again on what is left.
    """
    ruled = [line for line in lines if line["amount"] is not None]
    priced = sum((Decimal(line["amount"]) for line in ruled), Decimal("0.00"))
    matched_sale = sum((Decimal(line["sale_amount"] or 0) for line in ruled), Decimal("0"))
    matched_network = sum((Decimal(line["network_payout"] or 0) for line in ruled), Decimal("0"))
    rest_sale = max(sale_amount - matched_sale, Decimal("0")).quantize(CENT)
    rest_network = max(network_payout - matched_network, Decimal("0")).quantize(CENT)
    if len(ruled) < len(lines):
        rest = compute_payout(terms=terms, sale_amount=rest_sale, network_payout=rest_network)
        rest_amount, rest_formula = rest.amount, rest.basis["formula"]
    else:
        rest_amount, rest_formula = Decimal("0.00"), "every item priced by a rule"
    amount = (priced + rest_amount).quantize(CENT)
    basis = {
        "payout_type": terms.payout_type,
        "flat": str(terms.flat),
        "percent": str(terms.percent),
        "origin": terms.origin,
        "sale_amount": str(sale_amount),
        "network_payout": str(network_payout),
        "items": lines,
        "rest": {
            "sale_amount": str(rest_sale),
            "network_payout": str(rest_network),
            "formula": rest_formula,
            "amount": str(rest_amount),
        },
        "formula": f"items by rule {priced} + rest {rest_amount} = {amount}",
        "amount": str(amount),
    }
    return Payout(amount, basis)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
