"""CPR numbers: validation by the date part, masking and birth dates.

Since 2007 many valid CPR numbers fail the old modulus-11 check, so it is never applied.
A replacement number (erstatningspersonnummer) has 60 added to the day.
"""
from __future__ import annotations

import re
from datetime import date

_SHAPE = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d{4})$")


class InvalidCPR(ValueError):
    pass


def _century(year2: int, digit7: int) -> int:
    # The seventh digit tells the century (CPR-kontoret's table).
    if digit7 <= 3:
        return 1900
    if digit7 in (4, 9):
        return 2000 if year2 <= 36 else 1900
    return 2000 if year2 <= 57 else 1800


def parse(text: str) -> tuple[str, date]:
    """'DDMMYY-SSSS' or 'DDMMYYSSSS' → (normalised 'DDMMYYSSSS', birth date), or InvalidCPR."""
    match = _SHAPE.match((text or "").strip().replace(" ", ""))
    if not match:
        raise InvalidCPR("shape")
    day, month, year2, serial = (int(match.group(1)), int(match.group(2)), int(match.group(3)), match.group(4))
    if 61 <= day <= 91:
        day -= 60
    year = _century(year2, int(serial[0])) + year2
    try:
        born = date(year, month, day)
    except ValueError as error:
        raise InvalidCPR("date") from error
    return "".join(match.group(1, 2, 3, 4)), born


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except InvalidCPR:
        return False
    return True


def birth_date(normalised: str) -> date:
    return parse(normalised)[1]


def masked(normalised: str) -> str:
    """DDMMYY-xxxx: the form shown everywhere unless a user with need opens the number."""
    return f"{normalised[:6]}-xxxx"


def formatted(normalised: str) -> str:
    return f"{normalised[:6]}-{normalised[6:]}"


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
