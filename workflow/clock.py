"""Today's date where the municipality works: Europe/Copenhagen, whatever the server's zone."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def today() -> date:
    return datetime.now(COPENHAGEN).date()


TYPED_DATE_FORMATS = ("%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d")   # as users type them, or ISO
SENSIBLE_YEARS = range(1900, 2201)   # any date the municipality's work can mean; beyond it is a typing slip


def read_date(text: str) -> date:
    """A date typed as dd-mm-yyyy (or dd.mm.yyyy, dd/mm/yyyy, yyyy-mm-dd); ValueError when it is none."""
    for pattern in TYPED_DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text[:20]!r}")


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
