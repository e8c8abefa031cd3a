"""Danish business days (hverdage) for deadlines.

A business day is Monday to Friday that is not a Danish public holiday. The holidays come from
the maintained `holidays` library (`holidays.country_holidays("DK")`, its PUBLIC category), never
from a list kept here, so a change in the law reaches us with an update of the pinned package:

* Store Bededag (the fourth Friday after Easter) was abolished by Act no. 214 of 6 March 2023
  from 1 January 2024. The library knows this: it is a holiday up to and including 2023
  (5 May 2023) and an ordinary business day from 2024 on.
* The library keeps Grundlovsdag (5 June), juleaftensdag (24 December), nytårsaftensdag
  (31 December) and 1 May out of its PUBLIC category and lists them only in its OPTIONAL one:
  they are customary or agreement-based days off, not public holidays (helligdage) by law.
  They therefore count as business days here.

Sundays and the holidays that always fall on one (Easter Sunday, Whit Sunday) are non-business
days anyway.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

COUNTRY = "DK"


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    """The Danish public holidays of one year, computed once per year."""
    return frozenset(holidays.country_holidays(COUNTRY, years=year).keys())


def is_holiday(day: date) -> bool:
    """Whether `day` is a Danish public holiday (whatever the weekday)."""
    return day in _holidays_of(day.year)


def is_business_day(day: date) -> bool:
    """Monday to Friday and not a Danish public holiday."""
    return day.weekday() < 5 and not is_holiday(day)


def next_business_day(day: date) -> date:
    """`day` itself if it is a business day, else the first business day after it."""
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def add_business_days(start: date, n: int) -> date:
    """The date `n` business days after `start` (`start` itself is not counted).

    With n == 0 the result is `start` if it is a business day, else the next business day.
    """
    if n < 0:
        raise ValueError("n must be zero or positive")
    if n == 0:
        return next_business_day(start)
    day = start
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    return day


def business_days_between(start: date, end: date) -> int:
    """The number of business days after `start` up to and including `end`.

    The inverse of add_business_days: business_days_between(d, add_business_days(d, n)) == n for n > 0.
    Zero when end == start; negative (the count from end to start) when end is before start.
    """
    if end < start:
        return -business_days_between(end, start)
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day):
            count += 1
    return count
