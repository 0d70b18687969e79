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
the network's payout). Each line's rounding is its own (cents, half-up). A later report that
changes the order's amounts is read against the first one (``item_payout_from_lines``).
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

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


def compute_item_payout(
    *,
    terms: Terms,
    rules,
    items,
    sale_amount: Decimal,
    network_payout: Decimal,
    priced_sale: Decimal | None = None,
    priced_network: Decimal | None = None,
) -> Payout:
    """Price a conversion line by line (``items``: objects with sku, category, quantity,
    sale_amount and network_payout), first matching rule wins; the rest with ``terms``.

    ``priced_sale`` and ``priced_network``: the order's amounts when its items were reported,
    if they have changed since (see ``item_payout_from_lines``).
    """
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
    return item_payout_from_lines(
        terms=terms,
        lines=lines,
        sale_amount=sale_amount,
        network_payout=network_payout,
        priced_sale=priced_sale,
        priced_network=priced_network,
    )


def item_payout_from_lines(
    *,
    terms: Terms,
    lines: list[dict],
    sale_amount: Decimal,
    network_payout: Decimal,
    priced_sale: Decimal | None = None,
    priced_network: Decimal | None = None,
) -> Payout:
    """The payout of priced ``lines`` (as stored in a basis) plus the rest of the sale with ``terms``.

    ``priced_sale`` and ``priced_network`` are the order's amounts when the lines were
    reported (default: the amounts given now). A later report may lower or raise them
    without saying which items changed, so the lines are always counted from that first
    report, never from an earlier repricing, and the result does not depend on the order
    of the reports:

    - a rise goes to the rest of the sale;
    - a fall equal to the price of exactly one choice of items (whole lines, or some units
      of a line at their share of its sale; no other choice adds up to it) means those
      went back: a line earns nothing for its units that went back;
    - any other fall comes out of the rest first; once the rest is gone, the rule-priced
      lines are scaled down to the sale that is left.
    """
    priced_sale = sale_amount if priced_sale is None else priced_sale
    priced_network = network_payout if priced_network is None else priced_network
    returned = _returned_units(lines, priced_sale - sale_amount)  # line -> (units, their price)
    units_back = {i: units for i, (units, _) in returned.items()}
    kept = {i: _kept_share(line, units_back.get(i, 0)) for i, line in enumerate(lines)}
    ruled = [i for i, line in enumerate(lines) if line["amount"] is not None and kept[i] > 0]
    unruled_kept = any(line["amount"] is None and kept[i] > 0 for i, line in enumerate(lines))
    # What is left of a line's sale is its sale less the price its returned units were matched at.
    ruled_sale = sum((_amount(lines[i]["sale_amount"]) - returned.get(i, (0, 0))[1] for i in ruled), Decimal("0"))
    ruled_network = sum((_amount(lines[i]["network_payout"]) * kept[i] for i in ruled), Decimal("0"))
    if sale_amount <= 0 < priced_sale:
        share = Decimal("0")  # the whole order went back
    elif sale_amount < ruled_sale:
        share = sale_amount / ruled_sale
    else:
        share = Decimal("1")

    counted_lines, priced = [], Decimal("0.00")
    for i, line in enumerate(lines):
        line = {key: value for key, value in line.items() if key not in ("counted", "change", "returned_units")}
        change, counted, units = None, None, units_back.get(i, 0)
        if kept[i] == 0:
            change = "returned"
            counted = Decimal("0.00") if line["amount"] is not None else None
        elif line["amount"] is not None:
            counted = (Decimal(line["amount"]) * kept[i] * share).quantize(CENT, rounding=ROUND_HALF_UP)
            if share != 1:
                change = f"scaled to {_pct((share * HUNDRED).quantize(Decimal('0.1')))}% of its sale"
            priced += counted
        if units and kept[i] > 0:
            change = "; ".join(filter(None, [f"{units} of {line['quantity']} units returned", change]))
        line.update(counted=_text(counted) if change else None, change=change)
        if units:
            line["returned_units"] = units
        counted_lines.append(line)

    rest_sale = max(sale_amount - ruled_sale * share, Decimal("0")).quantize(CENT)
    rest_network = max(network_payout - ruled_network * share, Decimal("0")).quantize(CENT)
    if unruled_kept:
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
        "priced_sale_amount": str(priced_sale),
        "priced_network_payout": str(priced_network),
        "items": counted_lines,
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


def priced_amounts(conversion) -> tuple[Decimal | None, Decimal | None]:
    """The sale and network payout a conversion's items were reported with, from its basis
    (None, None when the basis does not say: the current amounts are then the first)."""
    basis = conversion.payout_basis or {}
    sale = basis.get("priced_sale_amount", basis.get("sale_amount"))
    network = basis.get("priced_network_payout", basis.get("network_payout"))
    if sale is None or network is None or not basis.get("items"):
        return None, None
    return Decimal(sale), Decimal(network)


MATCHED_CHOICES_MAX = 50_000  # more ways to choose returned units than this: a fall is never read as a return


def _returned_units(lines: list[dict], fall: Decimal) -> dict[int, tuple[int, Decimal]]:
    """Line index -> (units that went back, their price), when exactly one choice of units
    explains ``fall`` ({} otherwise).

    Some units of a line are priced at their share of the line's sale, to the cent either
    way (two units of 19.27: one is 9.63 or 9.64); all of them at the line's sale.
    """
    options = []  # per line: (line index, ((units, price), ...)) for each way some of it can go back
    for i, line in enumerate(lines):
        sale = _amount(line["sale_amount"])
        if sale <= 0:
            continue  # a line with no sale (or a free one) cannot explain a fall
        quantity = _quantity(line)
        ways = []
        for units in range(1, quantity + 1):
            share = sale * units / quantity
            prices = {share.quantize(CENT, rounding=ROUND_FLOOR), share.quantize(CENT, rounding=ROUND_CEILING)}
            ways += [(units, price) for price in sorted(prices)]
        options.append((i, tuple(ways)))
    choices = 1
    for _, ways in options:
        choices *= len(ways) + 1
    if fall <= 0 or not options or choices > MATCHED_CHOICES_MAX:
        return {}
    # At most this much can still go back from options[n:] (so a search that cannot reach the fall stops).
    reach = [Decimal("0")] * (len(options) + 1)
    for n in range(len(options) - 1, -1, -1):
        reach[n] = reach[n + 1] + max(price for _, price in options[n][1])
    # Two choices that differ only in how a unit's price was rounded are the same choice.
    found = _only_one(_unit_choices(options, reach, fall), key=lambda choice: {i: u for i, (u, _) in choice.items()})
    return found or {}


def _unit_choices(options, reach, fall: Decimal, start: int = 0, chosen: dict | None = None):
    """Every choice of units from ``options[start:]`` whose prices add up to ``fall``, as {line: (units, price)}."""
    chosen = chosen or {}
    if fall == 0:
        yield chosen
        return
    if fall < 0 or fall > reach[start]:
        return
    i, ways = options[start]
    yield from _unit_choices(options, reach, fall, start + 1, chosen)
    for units, price in ways:
        yield from _unit_choices(options, reach, fall - price, start + 1, {**chosen, i: (units, price)})


def _only_one(candidates, key=lambda candidate: candidate):
    """The one item of ``candidates`` (items with equal keys count as one), or None when there are none or several."""
    found = None
    for candidate in candidates:
        if found is not None and key(candidate) != key(found):
            return None
        found = candidate
    return found


def _quantity(line: dict) -> int:
    return max(int(line.get("quantity") or 1), 1)


def _kept_share(line: dict, units: int) -> Decimal:
    """The share of ``line`` that was kept after ``units`` of it went back."""
    quantity = _quantity(line)
    return Decimal(quantity - min(units, quantity)) / Decimal(quantity)


def _amount(text: str | None) -> Decimal:
    return Decimal(text) if text is not None else Decimal("0")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
