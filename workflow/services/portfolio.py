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
portfolio writes no access-log rows.

Speed: a unit holds tens of thousands of cases. Every count and sum is made by the database (GROUP BY;
money is whole øre there, so the sums are exact integers that become Decimal here; see portfolio_sql.py),
and only the rows a list shows are loaded: the dashboard asks for no contract rows and for the first rows
of its two lists, the exports for all of them. Either way the portfolio takes a fixed handful of queries,
whatever the number of cases, and each label is translated once per legal basis, not once per row. The
indexes ix_purchase_cases_unit_started, ix_contract_versions_portfolio, ix_follow_ups_case_open and
ix_stage_visits_case_left hold what these queries read.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import (
    Date,
    Integer,
    Select,
    and_,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from workflow import clock
from workflow.extensions import db
from workflow.i18n import legal_basis_label
from workflow.models import (
    CaseEnding,
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
from workflow.services import portfolio_sql as sql
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
    active_contracts: int                               # active in the period
    contracts: list[ContractRow]                        # their rows, by case number; [] unless asked for
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
    overdue: list[FollowUpRow]                          # open and overdue, then due soon, by due date (or the first)
    stages: list[tuple[str, str, int, Decimal | None]]  # (stage, label, open cases now, avg days ended in period)
    near_dates: list[ContractRow]                       # review or notice date within NEAR_DAYS (or the first)
    near_until: date = date.max                         # today + NEAR_DAYS
    soon_days: int = 0                                  # the "soon due" setting used
    with_list_price: int = 0                            # contracts whose list price is known
    near_count: int = 0                                 # all the contracts near their dates

    @property
    def overdue_count(self) -> int:
        """All the open follow-ups overdue or due soon (`overdue` may list only the first of them)."""
        return self.followups_overdue + self.followups_soon


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


def review_date_of(contract, started_on: date | None = None) -> date | None:
    """The contract's review date, or else its start plus its expected duration.

    contract: a ContractVersion, or a row with its review_date, start_date and duration_months.
    """
    if contract.review_date is not None:
        return contract.review_date
    return _months_from(contract.start_date or started_on, contract.duration_months or None)


# --- The contracts ---

def _row_columns() -> tuple:
    """What a contract row shows (see ContractRow), with its annual cost and list price in øre."""
    return (ContractVersion.case_id, ContractVersion.number.label("contract_number"), ContractVersion.legal_basis,
            ContractVersion.supplier_name, ContractVersion.supplier_cvr, ContractVersion.offer_name,
            ContractVersion.start_date, ContractVersion.duration_months, ContractVersion.review_date,
            ContractVersion.notice_months, sql.ore(ContractVersion.list_price_annual).label("list_ore"),
            sql.annual_ore().label("annual_ore"), PurchaseCase.number.label("case_number"),
            PurchaseCase.delivery_started_on.label("started_on"), Unit.name.label("unit_name"), CaseEnding.end_date)


def _active(scope, filters: PortfolioFilters, today: date, columns: tuple) -> Select:
    """The approved contract version of each case active in the period or running today, as `columns`.

    One row a case (only one version is approved at a time; should there be two, the newest wins). The
    figures, the rows and the near dates narrow it further. The columns the figures and the near dates
    read are all in ix_contract_versions_portfolio and ix_purchase_cases_unit_started, so that SQLite
    finds them in the indexes alone, the unit's cases in the order of their ids.
    """
    newer = aliased(ContractVersion)
    newer_approved = exists().where(newer.case_id == ContractVersion.case_id, newer.status == "approved",
                                    newer.number > ContractVersion.number)
    return (
        select(*columns)
        .select_from(ContractVersion)
        .join(PurchaseCase, PurchaseCase.id == ContractVersion.case_id)
        .join(Unit, Unit.id == PurchaseCase.unit_id)
        .outerjoin(CaseEnding, CaseEnding.case_id == PurchaseCase.id)
        .where(scope, ContractVersion.status == "approved", ~newer_approved,
               PurchaseCase.delivery_started_on.is_not(None),
               PurchaseCase.delivery_started_on <= max(filters.period_to, today),
               or_(CaseEnding.case_id.is_(None), CaseEnding.end_date >= filters.period_from)))


# The two groupings of the contracts active in the period, by the columns they group by: legal basis and
# unit together (few groups, summed by `_totals` into either), and supplier (its CVR, and each name it has had).
_GROUPINGS = {"basis_unit": ("legal_basis", "unit_name"), "supplier": ("supplier_cvr", "supplier_name")}
# What a near-date candidate brings (nothing in the rows of the groups).
_DATES = {"case_id": Integer, "review_date": Date, "start_date": Date, "duration_months": Integer,
          "notice_months": Integer, "started_on": Date}


def _contract_figures(scope, filters: PortfolioFilters, today: date, near_until: date) -> list:
    """The contracts active in the period, counted and summed per legal basis and unit and per supplier; and
    the running contracts that may be near their review or notice date.

    One statement: the contracts are found once (a CTE named three times, which SQLite and PostgreSQL
    materialise, so that each case's contract and price lines are looked up once), then grouped twice
    and sifted once. A row a group: (grouping, key, label, first case number, contracts, annual cost,
    list price, contracts with a list price, their annual cost), money in øre. A row a candidate:
    grouping "near", its case number as first_case, and the dates in the columns of _DATES.
    """
    columns = (ContractVersion.case_id, ContractVersion.legal_basis, ContractVersion.supplier_cvr,
               ContractVersion.supplier_name, Unit.name.label("unit_name"),
               sql.ore(ContractVersion.list_price_annual).label("list_ore"), sql.annual_ore().label("annual_ore"),
               PurchaseCase.number.label("case_number"), ContractVersion.review_date, ContractVersion.start_date,
               ContractVersion.duration_months, ContractVersion.notice_months,
               PurchaseCase.delivery_started_on.label("started_on"), CaseEnding.end_date)
    active = _active(scope, filters, today, columns).cte("active")
    priced = active.c.list_ore.is_not(None)
    no_dates = [cast(null(), kind).label(name) for name, kind in _DATES.items()]   # typed for PostgreSQL's UNION
    groups = [
        select(literal_column(f"'{grouping}'").label("grouping"), active.c[key].label("key"),
               active.c[label].label("label"), func.min(active.c.case_number).label("first_case"),
               func.count().label("count"), func.sum(active.c.annual_ore).label("annual_ore"),
               func.sum(active.c.list_ore).label("list_ore"), func.count(active.c.list_ore).label("priced"),
               func.sum(sql_case((priced, active.c.annual_ore))).label("priced_annual_ore"), *no_dates)
        .where(active.c.started_on <= filters.period_to)
        .group_by(active.c[key], active.c[label])
        for grouping, (key, label) in _GROUPINGS.items()]
    near = (select(literal_column("'near'"), null(), null(), active.c.case_number, null(), null(), null(), null(),
                   null(), *(active.c[name] for name in _DATES))
            .where(_near_candidates(active.c, today, near_until)))
    return db.session.execute(union_all(*groups, near)).all()


def _totals(groups: list, key: Callable, label: Callable) -> list[tuple[str, int, Decimal]]:
    """(label, count, annual cost) per key, largest cost first; a key's label is that of its first case
    (a supplier comes in one group per name it has had)."""
    found: dict[str, list] = {}
    for group in groups:
        entry = found.setdefault(key(group), [group.first_case, label(group), 0, 0])
        if group.first_case < entry[0]:
            entry[0], entry[1] = group.first_case, label(group)
        entry[2] += group.count
        entry[3] += group.annual_ore or 0
    return sorted(((name, count, sql.dkk(ore)) for _first, name, count, ore in found.values()),
                  key=lambda item: (-item[2], item[0]))


def _month_number_of(day: date) -> int:
    return day.year * 12 + day.month


def _near_candidates(contract, today: date, near_until: date):
    """Running contracts whose review or notice date falls in a month from today's to near_until's.

    contract: the columns review_date, start_date, duration_months, notice_months, started_on and end_date.
    Whole months are exact in SQL on both databases (add_months moves year * 12 + month by the months
    added); `_near_dates` then keeps the ones whose very dates are near, by `review_date_of`.
    """
    review = sql_case((contract.review_date.is_not(None), sql.month_number(contract.review_date)),
                      (contract.duration_months != 0,
                       sql.month_number(func.coalesce(contract.start_date, contract.started_on))
                       + contract.duration_months))
    notice = review - func.coalesce(contract.notice_months, 0)
    months = (_month_number_of(today), _month_number_of(near_until))
    return and_(contract.started_on <= today, contract.end_date.is_(None),
                or_(review.between(*months), notice.between(*months)))


def _near_dates(scope, filters: PortfolioFilters, today: date, near_until: date, candidates: list, soon_days: int,
                label: Callable, listed: int | None) -> tuple[list[ContractRow], int]:
    """The running contracts whose review or notice date falls from today to near_until, by the nearer of the
    two dates (the first `listed` of them), and how many there are.

    Their dates are worked out here from the candidates' few columns; only the rows listed are then
    loaded whole (price lines summed, next follow-up found).
    """
    order: dict[int, tuple[date, str]] = {}
    for row in candidates:
        review = review_date_of(row, row.started_on)
        notice = _months_from(review, -row.notice_months if row.notice_months else 0)
        near = [day for day in (notice, review) if day is not None and today <= day <= near_until]
        if near:
            order[row.case_id] = (min(near), row.first_case)
    if not order:
        return [], 0
    shown = sorted(order, key=order.__getitem__)[:listed]
    query = _active(scope, filters, today, _row_columns())
    if listed is not None:
        query = query.where(ContractVersion.case_id.in_(shown))
    else:   # all of them, maybe thousands: found as the candidates were, not by a list of ids
        query = query.where(_near_candidates(_ContractColumns, today, near_until))
    rows = [row for row in _contract_rows(query, today, soon_days, label) if row.case_id in order]
    rows.sort(key=lambda row: order[row.case_id])
    return rows, len(order)


class _ContractColumns:
    """The columns _near_candidates reads, on the tables of `_active`."""

    review_date, start_date = ContractVersion.review_date, ContractVersion.start_date
    duration_months, notice_months = ContractVersion.duration_months, ContractVersion.notice_months
    started_on, end_date = PurchaseCase.delivery_started_on, CaseEnding.end_date


def _contract_rows(query: Select, today: date, soon_days: int, label: Callable) -> list[ContractRow]:
    """The rows of the contracts the query finds, with their next open follow-up, by case number."""
    # Neither held nor cancelled, said so that SQLite finds the case's few follow-ups by its case index
    # rather than walking every open follow-up of the municipality by the open-and-due index, row by row.
    next_due = (select(func.min(FollowUp.due_date))
                .where(FollowUp.case_id == PurchaseCase.id,
                       func.coalesce(FollowUp.held_on, FollowUp.cancelled_on).is_(None))
                .scalar_subquery())
    rows = [_contract_row(row, today, soon_days, label)
            for row in db.session.execute(query.add_columns(next_due.label("next_due")))]
    rows.sort(key=lambda row: row.case_number)   # in Python: the same order on every database's collation
    return rows


def _contract_row(row, today: date, soon_days: int, label: Callable) -> ContractRow:
    annual = sql.dkk(row.annual_ore)
    listed = None if row.list_ore is None else sql.dkk(row.list_ore)
    review = review_date_of(row, row.started_on)
    state = None if row.next_due is None else followup.state_of(_Due(row.next_due, None, None), today, soon_days)
    return ContractRow(
        case_id=row.case_id, case_number=row.case_number, unit_name=row.unit_name, legal_basis=row.legal_basis,
        legal_basis_label=label(row.legal_basis), supplier_name=row.supplier_name, supplier_cvr=row.supplier_cvr,
        offer_name=row.offer_name, contract_number=row.contract_number, delivery_started_on=row.started_on,
        annual_cost=annual, list_price_annual=listed, difference=None if listed is None else annual - listed,
        review_date=review, notice_date=_months_from(review, -row.notice_months if row.notice_months else 0),
        next_followup=row.next_due, next_followup_state=state, end_date=row.end_date,
        notice_months=row.notice_months)


# --- Follow-ups and stages ---

def _follow_up_counts(scope, filters: PortfolioFilters, today: date, listed_until: date) -> tuple[int, ...]:
    """(held on time, held late) in the period, and (overdue, due today or soon) of the open ones now."""
    held = and_(FollowUp.held_on.is_not(None), FollowUp.held_on >= filters.period_from,
                FollowUp.held_on <= filters.period_to)
    still_open = and_(FollowUp.held_on.is_(None), FollowUp.cancelled_on.is_(None))

    def count(*conditions):
        return func.count(sql_case((and_(*conditions), 1)))
    found = db.session.execute(
        select(count(held, FollowUp.held_on <= FollowUp.due_date), count(held, FollowUp.held_on > FollowUp.due_date),
               count(still_open, FollowUp.due_date < today),
               count(still_open, FollowUp.due_date >= today, FollowUp.due_date <= listed_until))
        .join(PurchaseCase, PurchaseCase.id == FollowUp.case_id)
        .where(scope, or_(held, and_(still_open, FollowUp.due_date <= listed_until)))).one()
    return tuple(int(number) for number in found)


def _open_follow_ups(scope, listed_until: date, limit: int | None) -> list[tuple]:
    """The open follow-ups due by listed_until (the first `limit` of them), with what the tables show."""
    owner, procurement, economy = aliased(User), aliased(User), aliased(User)
    query = (
        select(FollowUp.case_id, FollowUp.kind, FollowUp.due_date, FollowUp.held_on, FollowUp.cancelled_on,
               PurchaseCase.number, Unit.name, owner.full_name, procurement.full_name, economy.full_name)
        .join(PurchaseCase, PurchaseCase.id == FollowUp.case_id)
        .join(Unit, Unit.id == PurchaseCase.unit_id)
        .join(owner, owner.id == PurchaseCase.owner_id)
        .outerjoin(procurement, procurement.id == PurchaseCase.procurement_id)
        .outerjoin(economy, economy.id == PurchaseCase.economy_id)
        .where(scope, FollowUp.held_on.is_(None), FollowUp.cancelled_on.is_(None), FollowUp.due_date <= listed_until)
        .order_by(FollowUp.due_date, PurchaseCase.number, FollowUp.id)
        .limit(limit))
    return list(db.session.execute(query))


def _stages(scope, filters: PortfolioFilters) -> list[tuple[str, str, int, Decimal | None]]:
    """(stage, label, open cases now, average days of the stays that ended in the period) for each stage.

    The stays are summed in whole microseconds by the database, so the average is exact before it is
    rounded to a tenth of a day.
    """
    counts = dict(db.session.execute(
        select(PurchaseCase.stage, func.count(PurchaseCase.id)).where(scope).group_by(PurchaseCase.stage)).all())
    stay = sql.StayMicroseconds(StageVisit.entered_at, StageVisit.left_at)
    visits = db.session.execute(
        select(StageVisit.stage, func.count(), func.sum(stay))
        .join(PurchaseCase, PurchaseCase.id == StageVisit.case_id)
        .where(scope, StageVisit.left_at.is_not(None), StageVisit.left_at >= _start_of(filters.period_from),
               StageVisit.left_at < _start_of(filters.period_to + timedelta(days=1)),
               StageVisit.stage.in_([str(stage) for stage in PROCESS_STAGES]))
        .group_by(StageVisit.stage))
    averages = {stage: (Decimal(total) / MICROSECONDS_PER_DAY / count).quantize(ONE_TENTH, rounding=ROUND_HALF_UP)
                for stage, count, total in visits}
    return [(str(stage), stage.label, int(counts.get(str(stage), 0)), averages.get(str(stage)))
            for stage in PROCESS_STAGES]


def _responsible(kind: str, owner: str, procurement: str | None, economy: str | None) -> str:
    """The caseworker holds the citizen's follow-up; procurement (or economy) the supplier review."""
    if kind == "supplier_review":
        return procurement or economy or owner
    return owner


def build(user: User, filters: PortfolioFilters, today: date, *, contracts: bool = True,
          listed: int | None = None) -> Portfolio:
    """The portfolio of the cases the user may see, for the unit and period of the filters.

    contracts=False leaves out the row of each active contract (the dashboard shows their figures only;
    the exports list them). `listed` keeps the first rows of the two lists, the follow-ups overdue or due
    soon and the contracts near their dates; their counts are of all, whatever is listed.
    """
    scope = _scope(user, filters)
    soon_days = int(settings.get("followup_soon_days"))
    near_until = today + timedelta(days=NEAR_DAYS)
    listed_until = max(today, today + timedelta(days=soon_days))   # overdue, due today, or soon due
    label = functools.cache(legal_basis_label)                     # translated once per legal basis

    groups: dict[str, list] = {grouping: [] for grouping in (*_GROUPINGS, "near")}
    for group in _contract_figures(scope, filters, today, near_until):
        groups[group.grouping].append(group)
    every = groups["basis_unit"]                                   # each contract in one of these

    def total(field: str):
        return sum(getattr(group, field) or 0 for group in every)

    list_total = sql.dkk(total("list_ore"))
    in_period = PurchaseCase.delivery_started_on <= filters.period_to
    rows = _contract_rows(_active(scope, filters, today, _row_columns()).where(in_period), today, soon_days,
                          label) if contracts else []

    near_dates, near_count = _near_dates(scope, filters, today, near_until, groups["near"], soon_days, label,
                                         listed)
    on_time, late, overdue_count, soon_count = _follow_up_counts(scope, filters, today, listed_until)
    overdue = [FollowUpRow(case_id=case_id, case_number=number, unit_name=unit_name, kind=kind, due_date=due,
                           state=followup.state_of(_Due(due, held_on, cancelled_on), today, soon_days),
                           responsible=_responsible(kind, owner, procurement, economy))
               for case_id, kind, due, held_on, cancelled_on, number, unit_name, owner, procurement, economy
               in _open_follow_ups(scope, listed_until, listed)]
    overdue.sort(key=lambda row: (row.due_date, row.case_number))
    unit = db.session.get(Unit, filters.unit_id) if filters.unit_id is not None else None
    return Portfolio(
        filters=filters, today=today, unit_name=unit.name if unit else None, active_contracts=total("count"),
        contracts=rows, annual_total=sql.dkk(total("annual_ore")),
        by_legal_basis=_totals(every, lambda group: group.key, lambda group: label(group.key)),
        by_supplier=_totals(groups["supplier"], lambda group: group.key, lambda group: group.label),
        by_unit=_totals(every, lambda group: group.label, lambda group: group.label), list_total=list_total,
        savings=list_total - sql.dkk(total("priced_annual_ore")),
        followups_on_time=on_time, followups_late=late, followups_overdue=overdue_count,
        followups_soon=soon_count, overdue=overdue, stages=_stages(scope, filters),
        near_dates=near_dates, near_until=near_until, soon_days=soon_days, with_list_price=total("priced"),
        near_count=near_count)


@dataclass(frozen=True)
class _Due:
    """What followup.state_of reads of a follow-up, from a plain row."""

    due_date: date
    held_on: date | None
    cancelled_on: date | None
