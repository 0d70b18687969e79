from decimal import Decimal

import pytest

from workspaces.templatetags.money import money


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Decimal("5468.01000000000"), "USD", "5,468.01 USD"),
        (Decimal("1234567.5"), "EUR", "1,234,567.50 EUR"),
        (Decimal("-12.345"), "GBP", "-12.35 GBP"),
        (Decimal("0"), "", "0.00"),
        (None, "USD", "–"),
        ("12.5", "USD", "12.50 USD"),
    ],
)
def test_amounts_read_the_same_everywhere(value, currency, expected):
    assert money(value, currency) == expected
