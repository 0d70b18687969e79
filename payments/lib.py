"""Calendar and money helpers for settlements, free of Django."""

from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

import holidays

CENT = Decimal("0.01")

# Networks that pay on their settlement day for the previous calendar month's
# locked transactions; the others pay for everything locked before the pay date.
PREVIOUS_MONTH_NETWORKS = {"shareasale", "awin"}


def money(value) -> Decimal:
    """A Decimal rounded to cents; refuses floats so binary fractions never reach the ledger."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def start_of_day(day: date, tz: tzinfo) -> datetime:
    """Midnight at the start of ``day`` in ``tz``."""
    return datetime.combine(day, time.min, tzinfo=tz)


def add_business_days(start: date, days: int, *, country: str = "") -> date:
    """``start`` plus ``days`` working days, skipping weekends and ``country``'s public holidays."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in public_holidays(country, current.year):
            remaining -= 1
    return current


@lru_cache(maxsize=64)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """The national public holidays of ``country`` (ISO 3166 alpha-2) in ``year``; none for ""."""
    if not country:
        return frozenset()
    return frozenset(holidays.country_holidays(country, years=year))


def next_pay_date(today: date, settlement_day: int) -> date:
    """The first pay date on or after ``today`` for a network paying on ``settlement_day``."""
    candidate = today.replace(day=settlement_day)
    if candidate >= today:
        return candidate
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, settlement_day)


def settlement_cut_off(kind: str, pay_date: date) -> date:
    """Conversions locked before this date are covered by the payment on ``pay_date``.

    Impact (and generic networks) pay for actions locked before the pay date;
    ShareASale/Awin pay on the 20th for the previous month, so the cut-off is the
    first day of the pay date's month.
    """
    if kind in PREVIOUS_MONTH_NETWORKS:
        return pay_date.replace(day=1)
    return pay_date
