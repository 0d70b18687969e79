"""Member payout maths: what a member earns for one conversion.

The terms (payout type, flat amount, percent) come from the offer, or from the
member's PayoutOverride on that offer when one exists. The result carries the
terms and the arithmetic as a plain dict (``basis``) so the conversion keeps
the maths it was paid by, and the detail page can show it.

Amounts are rounded half-up to cents, once, at the end.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from offers.models import Member, Offer, PayoutOverride, PayoutType

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
