"""The managers' portfolio dashboard: what a unit buys, what it costs and how its follow-up runs.

Definitions (the page, the PDF and the CSV/XLSX exports all read them from here):

* **Scope.** Everyone sees the cases `PurchaseCase.visible_to(user)` gives them, narrowed to one unit
  when a unit is chosen: managers see their own unit only (asking for another unit is refused),
  economy sees the cases they are economy (or procurement) on, in every unit or in the one chosen.
* **Active contract.** The approved contract version in force (status "approved") of a case whose
  delivery has started on or before the end of the period, and that had not ended before the
  period began (no ending with an end date before the start of the period). A closed case whose
  ending falls inside the period still counts for the period.
* **Annual cost** is the contract's price lines over a year (`pricing.yearly_total`); the **list
  price** is the offer's list price over a year as the contract recorded it; the **difference** is
  annual cost minus list price (negative: the negotiation saved money) and **savings** the sum of
  list price minus annual cost over the contracts whose list price is known.
* **Review date** is the contract's review date, or else its start date plus its expected duration;
  the **notice date** is the last day notice can be given before the review date (review date minus
  the notice months). A contract is **near** when either date falls from today to NEAR_DAYS ahead.
  Like the open follow-ups this is about today, whatever the period: it looks at the contracts
  running now (delivery started, no ending recorded).
* **Follow-ups held in the period** (either kind) count as on time when held on or before their due
  date, else late. **Overdue** and **soon** are the open follow-ups now: due before today, or due
  from today to the "soon due" days of the settings.
* **Stages**: the open cases in each stage now, and the average days of the stays in each stage that
  ended within the period.

No citizen's name or CPR number is read or shown (cases appear by case number only), so the
portfolio writes no access-log rows. Every figure is loaded in a fixed handful of queries,
whatever the number of cases.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, true
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased, load_only, selectinload

from workflow import clock, pricing
from workflow.extensions import db
from workflow.i18n import legal_basis_label
from workflow.models import (
    CaseEnding,
    ContractPriceLine,
    ContractVersion,
    FollowUp,
    PurchaseCase,
    StageVisit,
    Unit,
    User,
)
from workflow.process import PROCESS_STAGES
from workflow.roles import Role
from workflow.services import followup, settings
from workflow.services.errors import ServiceError

NEAR_DAYS = 90                 # "near" a review or notice date
DEFAULT_MONTHS = 12            # the period shown when none is asked for
LONGEST_PERIOD_MONTHS = 120    # ten years
FIRST_YEAR, LAST_YEAR = 2000, 2099
ROLES = (Role.MANAGER, Role.ECONOMY)
ONE_TENTH = Decimal("0.1")
MICROSECONDS_PER_DAY = Decimal(86_400_000_000)


@dataclass(frozen=True)
class PortfolioFilters:
    unit_id: int | None        # None = all units (the cases the user may see)
    period_from: date
    period_to: date


@dataclass
class ContractRow:
    case_id: int
    case_number: str
    unit_name: str
    legal_basis: str
    legal_basis_label: str
    supplier_name: str
    supplier_cvr: str
    offer_name: str
    contract_number: int
    delivery_started_on: date | None
    annual_cost: Decimal
    list_price_annual: Decimal | None
    difference: Decimal | None          # annual_cost - list_price_annual (negative = saved)
    review_date: date | None            # contract.review_date or start_date + duration_months
    notice_date: date | None            # review_date - notice_months: last day to give notice before review
    next_followup: date | None
    next_followup_state: str | None
    end_date: date | None = None        # the recorded ending's end date, when the purchase is ending
    notice_months: int | None = None


@dataclass
class FollowUpRow:
    case_id: int
    case_number: str
    unit_name: str
    kind: str
    due_date: date
    state: str
    responsible: str


@dataclass
class Portfolio:
    filters: PortfolioFilters
    today: date
    unit_name: str | None
    contracts: list[ContractRow]                        # active in the period, sorted by case number
    annual_total: Decimal
    by_legal_basis: list[tuple[str, int, Decimal]]      # (label, count, annual cost), largest cost first
    by_supplier: list[tuple[str, int, Decimal]]
    by_unit: list[tuple[str, int, Decimal]]
    list_total: Decimal                                 # sum of the known list prices
    savings: Decimal                                    # sum of (list - agreed) where the list price is known
    followups_on_time: int                              # held in the period on or before the due date
    followups_late: int                                 # held in the period after the due date
    followups_overdue: int                              # open now, due before today
    followups_soon: int                                 # open now, due today or within the soon-due days
    overdue: list[FollowUpRow]                          # open and overdue, then due soon, by due date
    stages: list[tuple[str, str, int, Decimal | None]]  # (stage, label, open cases now, avg days ended in period)
    near_dates: list[ContractRow]                       # review or notice date within NEAR_DAYS from today
    near_until: date = date.max                         # today + NEAR_DAYS
    soon_days: int = 0                                  # the "soon due" setting used
    with_list_price: int = 0                            # contracts whose list price is known


# --- Filters ---

def _default_unit(user: User) -> int | None:
    """Managers look at their own unit; economy's own unit holds no cases, so they start with all theirs."""
    return user.unit_id if user.role == Role.MANAGER else None


def _parse_unit(text: str | None, user: User) -> int | None:
    if text is None:
        return _default_unit(user)
    text = text.strip()
    if not text:
        return None if user.role != Role.MANAGER else user.unit_id
    if not (text.isascii() and text.isdigit() and len(text) <= 9) or db.session.get(Unit, int(text)) is None:
        raise ServiceError(_("Choose a unit from the list."), "unit")
    unit_id = int(text)
    if user.role == Role.MANAGER and unit_id != user.unit_id:
        raise ServiceError(_("Managers see the figures of their own unit only."), "unit")
    return unit_id


def _parse_day(text: str | None, field: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        found = clock.read_date(text)
    except ValueError:
        raise ServiceError(_("Write the date as dd-mm-yyyy, for example 24-12-2026."), field) from None
    if not FIRST_YEAR <= found.year <= LAST_YEAR:
        raise ServiceError(_("Write a date between %(first)s and %(last)s.", first=f"01-01-{FIRST_YEAR}",
                             last=f"31-12-{LAST_YEAR}"), field)
    return found


def unit_options(user: User) -> list[tuple[str, str]]:
    """The units the filter offers: a manager's own unit; for economy every unit, or all their cases."""
    if user.role == Role.MANAGER:
        return [(str(user.unit_id), user.unit.name)]
    units = db.session.scalars(select(Unit).order_by(Unit.name))
    return [("", _("All my cases"))] + [(str(unit.id), unit.name) for unit in units]


def parse_filters(args: Mapping[str, str], user: User, today: date) -> PortfolioFilters:
    """The unit and period asked for in the query ("unit", "from", "to"), with defaults and checks.

    Defaults: a manager's own unit (economy: all their cases) and the 12 months up to today. A bad
    unit, a date that cannot be read, a period that ends before it begins or is longer than ten
    years is refused with ServiceError naming the form field.
    """
    unit_id = _parse_unit(args.get("unit"), user)
    period_to = _parse_day(args.get("to"), "period_to") or today
    period_from = _parse_day(args.get("from"), "period_from") or clock.add_months(period_to, -DEFAULT_MONTHS)
    if period_from > period_to:
        raise ServiceError(_("The period ends before it begins."), "period_to")
    if period_from < clock.add_months(period_to, -LONGEST_PERIOD_MONTHS):
        raise ServiceError(_("The period can be at most 10 years."), "period_from")
    return PortfolioFilters(unit_id=unit_id, period_from=period_from, period_to=period_to)


# --- Building the portfolio ---

def _scope(user: User, filters: PortfolioFilters):
    """The cases this user may see, in the chosen unit: the base condition of every query."""
    if user.role not in ROLES:
        raise ServiceError(_("The dashboard is for managers and economy."))
    if user.role == Role.MANAGER and filters.unit_id not in (None, user.unit_id):
        raise ServiceError(_("Managers see the figures of their own unit only."), "unit")
    unit = PurchaseCase.unit_id == filters.unit_id if filters.unit_id is not None else true()
    return and_(PurchaseCase.visible_to(user), unit)


def _start_of(day: date) -> datetime:
    """The first moment of a Copenhagen calendar day, in UTC."""
    return datetime.combine(day, time.min, tzinfo=clock.COPENHAGEN).astimezone(UTC)


def _months_from(day: date | None, months: int | None) -> date | None:
    """day plus months; None when either is missing or the result falls outside the calendar.

    The contract terms accept any date a user types (year 9999 included): one odd contract must not
    take the whole dashboard down.
    """
    if day is None or months is None:
        return None
    try:
        return clock.add_months(day, months)
    except (ValueError, OverflowError):
        return None


def review_date_of(contract: ContractVersion, started_on: date | None = None) -> date | None:
    """The contract's review date, or else its start plus its expected duration."""
    if contract.review_date is not None:
        return contract.review_date
    return _months_from(contract.start_date or started_on, contract.duration_months or None)


def _active_contracts(scope, filters: PortfolioFilters, today: date) -> list[tuple]:
    """(contract with its lines, case number, delivery start, stage, unit name, end date), by case number.

    Active in the period, or running today (for the near review and notice dates).
    """
    columns = (ContractVersion.id, ContractVersion.case_id, ContractVersion.number, ContractVersion.legal_basis,
               ContractVersion.supplier_name, ContractVersion.supplier_cvr, ContractVersion.offer_name,
               ContractVersion.list_price_annual, ContractVersion.start_date, ContractVersion.duration_months,
               ContractVersion.review_date, ContractVersion.notice_months, ContractVersion.status)
    line_columns = (ContractPriceLine.contract_id, ContractPriceLine.unit, ContractPriceLine.unit_price,
                    ContractPriceLine.quantity)
    query = (
        select(ContractVersion, PurchaseCase.number, PurchaseCase.delivery_started_on, PurchaseCase.stage,
               Unit.name, CaseEnding.end_date)
        .join(PurchaseCase, PurchaseCase.id == ContractVersion.case_id)
        .join(Unit, Unit.id == PurchaseCase.unit_id)
        .outerjoin(CaseEnding, CaseEnding.case_id == PurchaseCase.id)
        .where(scope, ContractVersion.status == "approved",
               PurchaseCase.delivery_started_on.is_not(None),
               PurchaseCase.delivery_started_on <= max(filters.period_to, today),
               or_(CaseEnding.id.is_(None), CaseEnding.end_date >= filters.period_from))
        # The archived PDF and the long texts stay in the database.
        .options(load_only(*columns), selectinload(ContractVersion.lines).load_only(*line_columns))
        .order_by(PurchaseCase.number, ContractVersion.number.desc()))
    found, seen = [], set()
    for row in db.session.execute(query):
        if row[0].case_id not in seen:     # only one version is approved at a time; the newest wins
            seen.add(row[0].case_id)
            found.append(tuple(row))
    return found


def _open_follow_ups(scope) -> list[tuple]:
    """Every open follow-up of the cases in scope, with what the tables show, by due date."""
    owner, procurement, economy = aliased(User), aliased(User), aliased(User)
    query = (
        select(FollowUp.case_id, FollowUp.kind, FollowUp.due_date, FollowUp.held_on, FollowUp.cancelled_on,
               PurchaseCase.number, Unit.name, owner.full_name, procurement.full_name, economy.full_name)
        .join(PurchaseCase, PurchaseCase.id == FollowUp.case_id)
        .join(Unit, Unit.id == PurchaseCase.unit_id)
        .join(owner, owner.id == PurchaseCase.owner_id)
        .outerjoin(procurement, procurement.id == PurchaseCase.procurement_id)
        .outerjoin(economy, economy.id == PurchaseCase.economy_id)
        .where(scope, FollowUp.held_on.is_(None), FollowUp.cancelled_on.is_(None))
        .order_by(FollowUp.due_date, PurchaseCase.number, FollowUp.id))
    return list(db.session.execute(query))


def _held_in_period(scope, filters: PortfolioFilters) -> tuple[int, int]:
    """(on time, late) of the follow-ups held within the period."""
    on_time = sql_case((FollowUp.held_on <= FollowUp.due_date, 1), else_=0)
    held, in_time = db.session.execute(
        select(func.count(FollowUp.id), func.coalesce(func.sum(on_time), 0))
        .join(PurchaseCase, PurchaseCase.id == FollowUp.case_id)
        .where(scope, FollowUp.held_on.is_not(None), FollowUp.held_on >= filters.period_from,
               FollowUp.held_on <= filters.period_to)).one()
    return int(in_time), int(held) - int(in_time)


def _stages(scope, filters: PortfolioFilters) -> list[tuple[str, str, int, Decimal | None]]:
    counts = dict(db.session.execute(
        select(PurchaseCase.stage, func.count(PurchaseCase.id)).where(scope).group_by(PurchaseCase.stage)).all())
    visits = db.session.execute(
        select(StageVisit.stage, StageVisit.entered_at, StageVisit.left_at)
        .join(PurchaseCase, PurchaseCase.id == StageVisit.case_id)
        .where(scope, StageVisit.left_at.is_not(None), StageVisit.left_at >= _start_of(filters.period_from),
               StageVisit.left_at < _start_of(filters.period_to + timedelta(days=1)),
               StageVisit.stage.in_([str(stage) for stage in PROCESS_STAGES])))
    spent: dict[str, list[Decimal]] = defaultdict(list)
    for stage, entered_at, left_at in visits:
        microseconds = (left_at - entered_at) // timedelta(microseconds=1)
        spent[stage].append(Decimal(max(microseconds, 0)) / MICROSECONDS_PER_DAY)
    result = []
    for stage in PROCESS_STAGES:
        days = spent.get(str(stage))
        average = (sum(days) / len(days)).quantize(ONE_TENTH, rounding=ROUND_HALF_UP) if days else None
        result.append((str(stage), stage.label, int(counts.get(str(stage), 0)), average))
    return result


def _totals(rows: list[ContractRow], key, label) -> list[tuple[str, int, Decimal]]:
    """(label, count, annual cost) per group, largest cost first."""
    groups: dict[str, tuple[str, int, Decimal]] = {}
    for row in rows:
        name, count, cost = groups.get(key(row), (label(row), 0, Decimal("0.00")))
        groups[key(row)] = (name, count + 1, cost + row.annual_cost)
    return sorted(groups.values(), key=lambda item: (-item[2], item[0]))


def _responsible(kind: str, owner: str, procurement: str | None, economy: str | None) -> str:
    """The caseworker holds the citizen's follow-up; procurement (or economy) the supplier review."""
    if kind == "supplier_review":
        return procurement or economy or owner
    return owner


def build(user: User, filters: PortfolioFilters, today: date) -> Portfolio:
    """The portfolio of the cases the user may see, for the unit and period of the filters."""
    scope = _scope(user, filters)
    soon_days = int(settings.get("followup_soon_days"))
    near_until = today + timedelta(days=NEAR_DAYS)

    open_rows = _open_follow_ups(scope)
    next_of: dict[int, tuple[date, str]] = {}
    overdue: list[FollowUpRow] = []
    for case_id, kind, due, held_on, cancelled_on, number, unit_name, owner, procurement, economy in open_rows:
        state = followup.state_of(_Due(due, held_on, cancelled_on), today, soon_days)
        next_of.setdefault(case_id, (due, state))
        if state in (followup.OVERDUE, followup.DUE, followup.SOON):
            overdue.append(FollowUpRow(case_id=case_id, case_number=number, unit_name=unit_name, kind=kind,
                                       due_date=due, state=state,
                                       responsible=_responsible(kind, owner, procurement, economy)))

    contracts, running = [], []
    for contract, number, started_on, _stage, unit_name, end_date in _active_contracts(scope, filters, today):
        annual = pricing.yearly_total(contract.lines)
        listed = contract.list_price_annual
        review = review_date_of(contract, started_on)
        upcoming = next_of.get(contract.case_id)
        row = ContractRow(
            case_id=contract.case_id, case_number=number, unit_name=unit_name, legal_basis=contract.legal_basis,
            legal_basis_label=legal_basis_label(contract.legal_basis), supplier_name=contract.supplier_name,
            supplier_cvr=contract.supplier_cvr, offer_name=contract.offer_name, contract_number=contract.number,
            delivery_started_on=started_on, annual_cost=annual, list_price_annual=listed,
            difference=None if listed is None else annual - listed, review_date=review,
            notice_date=_months_from(review, -contract.notice_months if contract.notice_months else 0),
            next_followup=upcoming[0] if upcoming else None, next_followup_state=upcoming[1] if upcoming else None,
            end_date=end_date, notice_months=contract.notice_months)
        if started_on <= filters.period_to:
            contracts.append(row)
        if started_on <= today and end_date is None:
            running.append(row)

    for rows in (contracts, running):
        rows.sort(key=lambda row: row.case_number)   # in Python: the same order on every database's collation
    overdue.sort(key=lambda row: (row.due_date, row.case_number))
    priced = [row for row in contracts if row.list_price_annual is not None]
    list_total = sum((row.list_price_annual for row in priced), Decimal("0.00"))
    on_time, late = _held_in_period(scope, filters)
    unit = db.session.get(Unit, filters.unit_id) if filters.unit_id is not None else None

    def near(row: ContractRow) -> bool:
        return any(day is not None and today <= day <= near_until for day in (row.review_date, row.notice_date))

    near_dates = sorted((row for row in running if near(row)),
                        key=lambda row: (min(d for d in (row.notice_date, row.review_date)
                                             if d is not None and d >= today), row.case_number))
    return Portfolio(
        filters=filters, today=today, unit_name=unit.name if unit else None, contracts=contracts,
        annual_total=sum((row.annual_cost for row in contracts), Decimal("0.00")),
        by_legal_basis=_totals(contracts, lambda row: row.legal_basis, lambda row: row.legal_basis_label),
        by_supplier=_totals(contracts, lambda row: row.supplier_cvr, lambda row: row.supplier_name),
        by_unit=_totals(contracts, lambda row: row.unit_name, lambda row: row.unit_name),
        list_total=list_total,
        savings=list_total - sum((row.annual_cost for row in priced), Decimal("0.00")),
        followups_on_time=on_time, followups_late=late,
        followups_overdue=sum(1 for row in overdue if row.state == followup.OVERDUE),
        followups_soon=sum(1 for row in overdue if row.state != followup.OVERDUE),
        overdue=overdue, stages=_stages(scope, filters), near_dates=near_dates, near_until=near_until,
        soon_days=soon_days, with_list_price=len(priced))


@dataclass(frozen=True)
class _Due:
    """What followup.state_of reads of a follow-up, from a plain row."""

    due_date: date
    held_on: date | None
    cancelled_on: date | None
