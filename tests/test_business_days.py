"""Danish business days: weekends, public holidays from the `holidays` library, deadlines across them."""
from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from workflow.business_days import _holidays_of, add_business_days, business_days_between, is_business_day


def test_weekdays_and_weekends():
    assert is_business_day(date(2026, 3, 6))  # Friday
    assert not is_business_day(date(2026, 3, 7))  # Saturday
    assert not is_business_day(date(2026, 3, 8))  # Sunday
    assert is_business_day(date(2026, 3, 9))  # Monday


def test_over_a_weekend():
    assert add_business_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday -> Monday
    assert add_business_days(date(2026, 3, 6), 5) == date(2026, 3, 13)
    assert add_business_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Saturday -> Monday


def test_zero_days_moves_to_a_business_day():
    assert add_business_days(date(2026, 3, 7), 0) == date(2026, 3, 9)  # Saturday -> Monday
    assert add_business_days(date(2026, 3, 9), 0) == date(2026, 3, 9)
    # The Saturday of Easter 2027: Sunday and Easter Monday follow, so Tuesday.
    assert add_business_days(date(2027, 3, 27), 0) == date(2027, 3, 30)


def test_negative_days_refused():
    with pytest.raises(ValueError):
        add_business_days(date(2026, 3, 9), -1)


def test_ten_business_days_across_easter_2027():
    # Wednesday 24 March 2027. Maundy Thursday 25, Good Friday 26, the weekend and Easter Monday 29
    # are skipped: 30, 31 March, 1, 2, 5, 6, 7, 8, 9, 12 April.
    start = date(2027, 3, 24)
    for holiday in (date(2027, 3, 25), date(2027, 3, 26), date(2027, 3, 29)):
        assert not is_business_day(holiday)
    assert add_business_days(start, 1) == date(2027, 3, 30)
    assert add_business_days(start, 10) == date(2027, 4, 12)
    assert business_days_between(start, date(2027, 4, 12)) == 10


def test_across_christmas_and_new_year_2026_27():
    # 24 and 31 December are not public holidays; 25, 26 December and 1 January are.
    assert is_business_day(date(2026, 12, 24))  # Thursday
    assert not is_business_day(date(2026, 12, 25))  # Friday, Christmas Day
    assert is_business_day(date(2026, 12, 31))  # Thursday
    assert not is_business_day(date(2027, 1, 1))  # Friday, New Year's Day
    start = date(2026, 12, 23)  # Wednesday
    assert add_business_days(start, 1) == date(2026, 12, 24)
    assert add_business_days(start, 2) == date(2026, 12, 28)
    assert add_business_days(start, 5) == date(2026, 12, 31)
    assert add_business_days(start, 6) == date(2027, 1, 4)
    assert business_days_between(start, date(2027, 1, 4)) == 6


def test_ascension_day_and_whit_monday():
    assert not is_business_day(date(2026, 5, 14))  # Ascension Day, Thursday
    assert add_business_days(date(2026, 5, 13), 1) == date(2026, 5, 15)
    assert not is_business_day(date(2026, 5, 25))  # Whit Monday
    assert add_business_days(date(2026, 5, 22), 1) == date(2026, 5, 26)  # Friday -> Tuesday
    assert not is_business_day(date(2027, 5, 6))  # Ascension Day 2027
    assert not is_business_day(date(2027, 5, 17))  # Whit Monday 2027


def test_store_bededag_until_2023_only():
    assert not is_business_day(date(2023, 5, 5))  # Store Bededag 2023, a Friday
    assert add_business_days(date(2023, 5, 4), 1) == date(2023, 5, 8)
    # Abolished from 2024: the fourth Friday after Easter 2024 is an ordinary Friday.
    assert is_business_day(date(2024, 4, 26))
    assert add_business_days(date(2024, 4, 25), 1) == date(2024, 4, 26)


def test_constitution_day_is_a_business_day_as_the_library_says():
    # The library lists Grundlovsdag only in its OPTIONAL category, not among the public holidays.
    constitution_day = date(2026, 6, 5)  # a Friday
    assert constitution_day not in holidays.country_holidays("DK", years=2026)
    assert constitution_day in holidays.country_holidays("DK", years=2026, categories=holidays.OPTIONAL)
    assert is_business_day(constitution_day)
    assert add_business_days(date(2026, 6, 4), 1) == constitution_day


def test_business_days_between():
    monday = date(2026, 3, 9)
    assert business_days_between(monday, monday) == 0
    assert business_days_between(monday, date(2026, 3, 16)) == 5
    assert business_days_between(date(2026, 3, 16), monday) == -5
    assert business_days_between(date(2026, 3, 7), date(2026, 3, 8)) == 0  # Saturday -> Sunday
    assert business_days_between(date(2027, 3, 24), date(2027, 3, 29)) == 0  # over Easter


def test_between_inverts_add_over_two_years():
    start = date(2026, 1, 1)
    for offset in range(0, 730, 7):
        day = start + timedelta(days=offset)
        for n in (1, 3, 10, 25):
            end = add_business_days(day, n)
            assert is_business_day(end)
            assert business_days_between(day, end) == n


def test_holidays_are_cached_per_year():
    _holidays_of.cache_clear()
    for _ in range(3):
        is_business_day(date(2026, 12, 25))
        is_business_day(date(2027, 1, 1))
    info = _holidays_of.cache_info()
    assert info.misses == 2
    assert info.hits == 4
