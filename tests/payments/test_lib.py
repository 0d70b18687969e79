from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from payments.lib import add_business_days, money, next_pay_date, settlement_cut_off, start_of_day


def test_business_days_skip_weekends():
    friday = date(2026, 11, 20)
    assert add_business_days(friday, 1) == date(2026, 11, 23)  # Monday
    assert add_business_days(friday, 3) == date(2026, 11, 25)
    assert add_business_days(date(2026, 11, 21), 2) == date(2026, 11, 24)  # from a Saturday


def test_next_pay_date_rolls_into_next_month_and_year():
    assert next_pay_date(date(2026, 11, 1), 1) == date(2026, 11, 1)
    assert next_pay_date(date(2026, 11, 2), 1) == date(2026, 12, 1)
    assert next_pay_date(date(2026, 12, 21), 20) == date(2027, 1, 20)
    assert next_pay_date(date(2026, 12, 5), 20) == date(2026, 12, 20)


def test_cut_off_follows_each_networks_rule():
    assert settlement_cut_off("impact", date(2026, 12, 1)) == date(2026, 12, 1)
    # ShareASale pays on the 20th for the previous month's locked transactions.
    assert settlement_cut_off("shareasale", date(2026, 12, 20)) == date(2026, 12, 1)


def test_money_rounds_to_cents_and_refuses_floats():
    assert money("1.005") == Decimal("1.01")
    with pytest.raises(TypeError):
        money(1.5)


def test_business_days_skip_the_countrys_public_holidays():
    wednesday = date(2026, 11, 25)  # the day before Thanksgiving
    assert add_business_days(wednesday, 2) == date(2026, 11, 27)
    assert add_business_days(wednesday, 2, country="US") == date(2026, 11, 30)
    # 25 and 28 December 2026 (Boxing Day observed on Monday) in the United Kingdom.
    assert add_business_days(date(2026, 12, 24), 1, country="GB") == date(2026, 12, 29)
    assert add_business_days(date(2026, 12, 24), 1, country="") == date(2026, 12, 25)


def test_start_of_day_is_midnight_in_the_given_zone():
    zone = ZoneInfo("America/New_York")
    start = start_of_day(date(2026, 3, 8), zone)  # the day clocks go forward
    assert start == timezone.make_aware(datetime(2026, 3, 8), zone)
    assert start.utcoffset() == timedelta(hours=-5)
