"""What a price costs over a year. Plain Python, used by the market scan, replies and contracts."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# How many of each unit a year holds. For hours the quantity is hours a week.
PERIODS_PER_YEAR = {"døgn": Decimal(365), "måned": Decimal(12), "time": Decimal(52), "engangsbeløb": Decimal(1)}
ONE_ORE = Decimal("0.01")


def yearly(unit_price: Decimal, unit: str, quantity: Decimal | int | None = 1) -> Decimal | None:
    """Annual cost of one price line; None when the quantity is unknown (hours not given)."""
    if quantity is None:
        return None
    total = Decimal(unit_price) * Decimal(quantity) * PERIODS_PER_YEAR[unit]
    return total.quantize(ONE_ORE, rounding=ROUND_HALF_UP)


def yearly_total(lines) -> Decimal:
    """Annual cost of price lines with .unit_price, .unit and .quantity."""
    return sum((yearly(line.unit_price, line.unit, line.quantity) for line in lines), Decimal("0.00"))
