"""The portfolio's arithmetic in SQL: money in whole øre and stays in whole microseconds, exact on both databases.

The dashboard's sums run in the database (workflow/services/portfolio.py). Money columns hold whole øre
(workflow/models/types.py's Money), so their sums are exact integers; `dkk` turns them into Decimal.
`annual_ore` is `pricing.yearly_total` of a contract version's price lines, rounded line by line as
Decimal does; tests/test_portfolio.py checks the two agree, half øre and negative lines included.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, func, literal_column, select, type_coerce
from sqlalchemy import case as sql_case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from workflow import pricing
from workflow.models import ContractPriceLine, ContractVersion

ONE_ORE = Decimal("0.01")


def ore(column):
    """A Money column as the whole øre it holds in the database, for sums that stay exact integers."""
    return type_coerce(column, BigInteger)


def dkk(amount) -> Decimal:
    """Whole øre (an int, or PostgreSQL's Decimal sum; None for no rows) as DKK."""
    return (Decimal(amount or 0) / 100).quantize(ONE_ORE)


def line_yearly_ore():
    """`pricing.yearly` of a price line: whole øre, rounded half up (away from zero).

    Price and quantity are whole hundredths in the database, so their product times the periods of a
    year is in hundredths of an øre, an exact integer; integer division then rounds it as Decimal does.
    """
    periods = sql_case(*((ContractPriceLine.unit == unit, literal_column(str(int(count)), BigInteger))
                         for unit, count in pricing.PERIODS_PER_YEAR.items()))
    hundredths = ore(ContractPriceLine.unit_price) * ore(ContractPriceLine.quantity) * periods
    return sql_case((hundredths >= 0, (hundredths + 50) // 100), else_=(hundredths - 50) // 100)


def annual_ore():
    """The contract version's annual cost in øre, `pricing.yearly_total` of its lines: a correlated subquery."""
    return (select(func.coalesce(func.sum(line_yearly_ore()), 0))
            .where(ContractPriceLine.contract_id == ContractVersion.id)
            .correlate(ContractVersion).scalar_subquery())


def month_number(day):
    """year * 12 + month of a date column: `clock.add_months` moves it by exactly the months added."""
    return func.extract("year", day) * 12 + func.extract("month", day)


class StayMicroseconds(FunctionElement):
    """The whole microseconds from one UTC timestamp column to a later one (0 if it is earlier)."""

    type = BigInteger()
    inherit_cache = True
    name = "stay_microseconds"


def _sqlite_microseconds(moment: str) -> str:
    # SQLite keeps the naive UTC time as text, "2026-06-15 10:00:00.123456": whole seconds, then the fraction.
    return f"(CAST(strftime('%s', {moment}) AS INTEGER) * 1000000 + CAST(substr({moment}, 21, 6) AS INTEGER))"


@compiles(StayMicroseconds, "sqlite")
def _sqlite_stay(element, compiler, **kw):
    entered, left = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"max({_sqlite_microseconds(left)} - {_sqlite_microseconds(entered)}, 0)"


@compiles(StayMicroseconds, "postgresql")
def _postgresql_stay(element, compiler, **kw):
    entered, left = (compiler.process(clause, **kw) for clause in element.clauses)
    # EXTRACT gives numeric seconds, exact to the microsecond.
    return f"GREATEST(CAST((EXTRACT(EPOCH FROM {left}) - EXTRACT(EPOCH FROM {entered})) * 1000000 AS BIGINT), 0)"
