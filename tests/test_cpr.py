from datetime import date

import pytest

from workflow import cpr


def modulus_11_ok(number: str) -> bool:
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    return sum(int(d) * w for d, w in zip(number, weights, strict=True)) % 11 == 0


@pytest.mark.parametrize("number, born", [
    ("010190-1234", date(1990, 1, 1)),
    ("0101901235", date(1990, 1, 1)),
    ("290200-4001", date(2000, 2, 29)),      # leap day, seventh digit 4 and year 00 → 2000
    ("311299-4001", date(1999, 12, 31)),     # digit 4, year 99 → 1900s
    ("150558-5000", date(1858, 5, 15)),      # digits 5–8 with year 58–99 → 1800s
    ("150510-5000", date(2010, 5, 15)),      # digits 5–8 with year 00–57 → 2000s
    ("610190-1234", date(1990, 1, 1)),       # replacement number: day + 60
    ("911290-1234", date(1990, 12, 31)),     # replacement number on the 31st
])
def test_valid_numbers_and_their_birth_dates(number, born):
    normalised, parsed = cpr.parse(number)
    assert parsed == born
    assert len(normalised) == 10


def test_numbers_failing_modulus_11_are_accepted():
    failing = [n for n in ("0101901234", "0101901235", "0101901236") if not modulus_11_ok(n)]
    assert failing
    for number in failing:
        assert cpr.is_valid(number)


@pytest.mark.parametrize("number", [
    "320190-1234",   # day 32
    "000190-1234",   # day 0
    "011390-1234",   # month 13
    "300290-1234",   # 30 February
    "290201-1234",   # 29 February 1901 was no leap day
    "920190-1234",   # day 92: past the replacement range
    "01019-1234", "0101901234x", "abcdefghij", "", "01-01-90-1234",
])
def test_impossible_numbers_are_refused(number):
    assert not cpr.is_valid(number)


def test_masking_and_age():
    assert cpr.masked("0101901234") == "010190-xxxx"
    assert cpr.formatted("0101901234") == "010190-1234"
    assert cpr.age_on(date(1990, 6, 15), date(2026, 6, 14)) == 35
    assert cpr.age_on(date(1990, 6, 15), date(2026, 6, 15)) == 36
