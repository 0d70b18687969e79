"""``{{ amount|money:currency }}``: how every page writes an amount: two decimals, thousands separated,
the currency after it (``1,234.50 USD``). Decimal in, never float; None is a dash."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()
CENT = Decimal("0.01")


@register.filter
def money(value, currency: str = "") -> str:
    if value is None or value == "":
        return "–"
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{amount:,.2f}"
    return f"{text} {currency}".strip() if currency else text
