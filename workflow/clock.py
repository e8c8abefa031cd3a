"""Today's date where the municipality works: Europe/Copenhagen, whatever the server's zone."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def today() -> date:
    return datetime.now(COPENHAGEN).date()


def add_months(start: date, months: int) -> date:
    """The same day `months` later (or earlier), on the month's last day when it is shorter."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - date.resolution).day
    return date(year, month, min(start.day, last_day))


def local_date(moment: datetime | None) -> date | None:
    """The Copenhagen calendar day of a stored UTC moment."""
    return None if moment is None else moment.astimezone(COPENHAGEN).date()
