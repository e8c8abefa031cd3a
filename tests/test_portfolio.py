"""The managers' portfolio dashboard: exact figures on constructed data, filters, access, charts and the page.

The portfolio is built from rows made directly with the models (cases, contract versions with price
lines, follow-ups, endings and stage visits with known dates), so that every figure can be worked out
by hand below; one test walks a case through the real services to check that they meet.
"""
from __future__ import annotations

import base64
import io
import itertools
import re
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import event

from tests.support.queries import counted
from tests.support.running import running_case
from workflow import charts, clock, pricing
from workflow.extensions import db
from workflow.models import (
    CaseEnding,
    Citizen,
    ContractPriceLine,
    ContractVersion,
    FollowUp,
    PurchaseCase,
    StageVisit,
)
from workflow.pdf import html_to_pdf
from workflow.process import Stage
from workflow.services import ServiceError, portfolio
from workflow.services.portfolio import PortfolioFilters

TODAY = date(2026, 6, 15)
PERIOD = PortfolioFilters(unit_id=None, period_from=date(2025, 6, 15), period_to=TODAY)
_serials = itertools.count(1)
D = Decimal


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=UTC)


def add_case(owner, *, stage: Stage = Stage.FOLLOW_UP, legal_basis: str = "SEL-108", started_on: date | None = None,
             procurement=None, economy=None) -> PurchaseCase:
    serial = next(_serials)
    citizen = Citizen(cpr=f"010180{serial:04d}", name=f"Borger Nummer{serial}", home_municipality="101")
    case = PurchaseCase(number=f"SK-2025-{serial:05d}", citizen=citizen, legal_basis=legal_basis,
                        target_group="intellectual_disability", unit_id=owner.unit_id, owner_id=owner.id,
                        procurement_id=procurement.id if procurement else None,
                        economy_id=economy.id if economy else None, stage=stage, delivery_started_on=started_on)
    db.session.add(case)
    db.session.flush()
    return case


def add_contract(case, drafter, *, supplier: str, cvr: str, lines, list_price: str | None, start_date: date | None,
                 duration_months: int | None = None, review_date: date | None = None, notice_months: int = 3,
                 number: int = 1, status: str = "approved") -> ContractVersion:
    contract = ContractVersion(
        case_id=case.id, number=number, status="draft", acting_municipality="Eksempel Kommune",
        paying_municipality="Eksempel Kommune", supplier_name=supplier, supplier_cvr=cvr,
        offer_name=f"{supplier}, tilbud", legal_basis=case.legal_basis, primary_service="Botilbud",
        list_price_annual=D(list_price) if list_price is not None else None, start_date=start_date,
        duration_months=duration_months, review_date=review_date, notice_months=notice_months,
        drafted_by_id=drafter.id)
    contract.lines = [ContractPriceLine(description=f"Takst pr. {unit}", unit=unit, unit_price=D(price),
                                        quantity=D(quantity), supplement=supplement)
                      for unit, price, quantity, supplement in lines]
    db.session.add(contract)
    db.session.flush()
    contract.status = status   # approved (or superseded) once its lines are in: approval freezes them
    if status == "approved":
        contract.approved_at = at("2025-01-01T12:00:00")
    db.session.flush()
    return contract


def add_follow_up(case, due: date, *, held: date | None = None, cancelled: date | None = None,
                  kind: str = "individual") -> FollowUp:
    follow_up = FollowUp(case_id=case.id, kind=kind, due_date=due, held_on=held, cancelled_on=cancelled)
    db.session.add(follow_up)
    return follow_up


def add_visit(case, stage: Stage, entered: str, left: str | None) -> None:
    db.session.add(StageVisit(case_id=case.id, stage=stage, entered_at=at(entered), left_at=at(left) if left else None))


@pytest.fixture
def english(app):
    """Messages and labels in English (the Danish catalogue is filled in later), in a request as on the pages."""
    with app.test_request_context(), force_locale("en"):
        yield


@pytest.fixture
def data(staff):
    """Seven cases in the home unit and two in the other; the figures below follow from these rows.

    today 15-06-2026, period 15-06-2025 – 15-06-2026, soon-due 14 days, near = until 13-09-2026.
    """
    cw, cw_other = staff.caseworker, staff.caseworker_other
    cases = {}
    # A: § 108 at Solhøj, 2.450,50 a day = 894.432,50 a year; list 912.500,00 (saved 18.067,50).
    # Started 01-03-2025 for 24 months: review 01-03-2027, notice by 01-12-2026 (not near).
    a = cases["A"] = add_case(cw, started_on=date(2025, 3, 1), economy=staff.economy)
    add_contract(a, staff.procurement, supplier="Solhøj ApS", cvr="11111111", number=1, status="superseded",
                 lines=[("døgn", "2600.00", "1", False)], list_price="912500.00", start_date=date(2025, 3, 1),
                 duration_months=24)
    add_contract(a, staff.procurement, supplier="Solhøj ApS", cvr="11111111", number=2,
                 lines=[("døgn", "2450.50", "1", False)], list_price="912500.00", start_date=date(2025, 3, 1),
                 duration_months=24)
    add_follow_up(a, date(2025, 6, 1), held=date(2025, 5, 28))                          # before the period
    add_follow_up(a, date(2025, 9, 1), held=date(2025, 8, 30))                          # on time
    add_follow_up(a, date(2026, 3, 1), held=date(2026, 3, 10), kind="supplier_review")  # late
    add_follow_up(a, date(2026, 9, 1))                                                  # next, scheduled
    add_visit(a, Stage.NEEDS, "2025-01-01T10:00:00", "2025-01-11T10:00:00")           # ended before the period
    # B: § 85 support, 400,00 an hour × 10 hours a week = 208.000,00; list 220.000,00 (saved 12.000,00).
    # Review 01-08-2026 (near), notice by 01-05-2026 (passed).
    b = cases["B"] = add_case(cw, legal_basis="SEL-85", started_on=date(2026, 1, 10), economy=staff.economy)
    add_contract(b, staff.procurement, supplier="Hjælp ApS", cvr="22222222", lines=[("time", "400.00", "10", False)],
                 list_price="220000.00", start_date=date(2026, 1, 10), review_date=date(2026, 8, 1))
    add_follow_up(b, date(2026, 4, 10), held=date(2026, 4, 10))                         # on time (same day)
    add_follow_up(b, date(2026, 6, 20))                                                 # soon
    add_visit(b, Stage.NEEDS, "2025-10-01T08:00:00", "2025-10-05T20:00:00")           # 4,5 days
    add_visit(b, Stage.MARKET_SCAN, "2025-10-05T20:00:00", "2025-10-12T20:00:00")     # 7 days
    add_visit(b, Stage.FOLLOW_UP, "2026-01-10T08:00:00", None)                         # still there
    # C: § 108 at Solhøj too, 2.000,00 a day + 300,00 an hour × 5 a week (supplement) = 730.000,00 + 78.000,00
    # = 808.000,00; no list price. 12 months from 01-09-2025: review 01-09-2026 (near), notice by 01-06-2026.
    c = cases["C"] = add_case(cw, started_on=date(2025, 9, 1), procurement=staff.procurement)
    add_contract(c, staff.procurement, supplier="Solhøj ApS", cvr="11111111",
                 lines=[("døgn", "2000.00", "1", False), ("time", "300.00", "5", True)], list_price=None,
                 start_date=date(2025, 9, 1), duration_months=12)
    add_follow_up(c, date(2025, 12, 1), held=date(2026, 1, 5))                          # late
    add_follow_up(c, date(2026, 5, 1))                                                  # overdue
    add_follow_up(c, TODAY, kind="supplier_review")                                     # due today: soon
    add_visit(c, Stage.NEEDS, "2025-07-01T00:00:00", "2025-07-04T00:00:00")           # 3 days
    # D: Barnets Lov § 46, 60.000,00 a month = 720.000,00; list 700.000,00 (paid 20.000,00 more).
    # Review 01-10-2026 (not near), notice by 01-07-2026 (near).
    d = cases["D"] = add_case(cw, legal_basis="BL-46", started_on=date(2024, 1, 1))
    add_contract(d, staff.procurement, supplier="Børnehuset", cvr="33333333", lines=[("måned", "60000.00", "1", False)],
                 list_price="700000.00", start_date=date(2024, 1, 1), review_date=date(2026, 10, 1))
    add_follow_up(d, date(2026, 1, 1), cancelled=date(2025, 12, 20))                   # cancelled: left out
    add_follow_up(d, date(2026, 6, 10))                                                 # overdue
    add_follow_up(d, date(2026, 7, 30))                                                 # scheduled
    add_visit(d, Stage.APPROVAL, "2026-06-10T09:00:00", "2026-06-12T09:00:00")        # 2 days
    # E: ended 31-05-2025, before the period: not active. Its stays still count for the stage times.
    e = cases["E"] = add_case(cw, stage=Stage.CLOSED, started_on=date(2024, 5, 1))
    add_contract(e, staff.procurement, supplier="Gammelgård", cvr="66666666", lines=[("døgn", "1000.00", "1", False)],
                 list_price=None, start_date=date(2024, 5, 1), duration_months=24)
    db.session.add(CaseEnding(case_id=e.id, end_date=date(2025, 5, 31), recorded_by_id=cw.id))
    add_visit(e, Stage.DIALOGUE, "2026-06-05T22:00:00", "2026-06-15T21:59:00")       # ends 23:59 on 15-06 in CPH
    add_visit(e, Stage.TERMS, "2026-06-10T22:30:00", "2026-06-15T22:30:00")          # ends 00:30 on 16-06: after
    # F: § 107, 1.500,00 a day = 547.500,00 = its list price; ended 31-12-2025, inside the period: active,
    # but never near (its review 01-07-2026 no longer matters).
    f = cases["F"] = add_case(cw, stage=Stage.CLOSED, legal_basis="SEL-107", started_on=date(2025, 1, 1))
    add_contract(f, staff.procurement, supplier="Midlertidig Bo", cvr="44444444",
                 lines=[("døgn", "1500.00", "1", False)], list_price="547500.00", start_date=date(2025, 1, 1),
                 review_date=date(2026, 7, 1))
    db.session.add(CaseEnding(case_id=f.id, end_date=date(2025, 12, 31), recorded_by_id=cw.id))
    add_follow_up(f, date(2025, 11, 15), held=date(2025, 11, 1))                        # on time
    add_follow_up(f, date(2026, 5, 15), cancelled=date(2025, 11, 1))
    add_visit(f, Stage.MARKET_SCAN, "2025-06-10T21:59:00", "2025-06-14T21:59:00")    # ends 23:59 on 14-06: before
    add_visit(f, Stage.DELIVERY, "2025-06-04T22:00:00", "2025-06-14T22:00:00")       # ends 00:00 on 15-06: 10 days
    # G: approved, but the delivery has not started: not active.
    g = cases["G"] = add_case(cw, stage=Stage.DELIVERY)
    add_contract(g, staff.procurement, supplier="Solhøj ApS", cvr="11111111", lines=[("døgn", "999.00", "1", False)],
                 list_price=None, start_date=date(2026, 7, 1), duration_months=12)
    # H (other unit, economy of the home unit on it): 3.000,00 a day = 1.095.000,00; list 1.100.000,00.
    h = cases["H"] = add_case(cw_other, started_on=date(2025, 2, 1), economy=staff.economy)
    add_contract(h, staff.procurement_other, supplier="Fjordhuset", cvr="55555555",
                 lines=[("døgn", "3000.00", "1", False)], list_price="1100000.00", start_date=date(2025, 2, 1),
                 review_date=date(2026, 7, 15))
    add_follow_up(h, date(2026, 2, 1), held=date(2026, 2, 1))
    add_follow_up(h, date(2026, 6, 1))
    add_visit(h, Stage.NEEDS, "2025-08-01T00:00:00", "2025-09-01T00:00:00")
    # I (other unit, nobody from the home unit on it).
    i = cases["I"] = add_case(cw_other, legal_basis="BL-43", started_on=date(2025, 5, 1))
    add_contract(i, staff.procurement_other, supplier="Skovly", cvr="77777777", lines=[("døgn", "4000.00", "1", False)],
                 list_price=None, start_date=date(2025, 5, 1), duration_months=12)
    db.session.commit()
    return cases


def numbers(rows, cases) -> list[str]:
    names = {case.number: key for key, case in cases.items()}
    return [names[row.case_number] for row in rows]


# --- The figures --------------------------------------------------------------------------------------------

def test_the_managers_portfolio_figures_are_exact(staff, data):
    result = portfolio.build(staff.manager, PortfolioFilters(staff.manager.unit_id, PERIOD.period_from, TODAY), TODAY)

    assert numbers(result.contracts, data) == ["A", "B", "C", "D", "F"]
    assert result.unit_name == "Voksenhandicap"
    assert result.annual_total == D("3177932.50")
    assert result.list_total == D("2380000.00")
    assert result.savings == D("10067.50")        # 18.067,50 + 12.000,00 + 0,00 - 20.000,00
    assert result.with_list_price == 4
    basis = {row.legal_basis: row.legal_basis_label for row in result.contracts}
    assert result.by_legal_basis == [(basis["SEL-108"], 2, D("1702432.50")), (basis["BL-46"], 1, D("720000.00")),
                                     (basis["SEL-107"], 1, D("547500.00")), (basis["SEL-85"], 1, D("208000.00"))]
    assert result.by_supplier == [("Solhøj ApS", 2, D("1702432.50")), ("Børnehuset", 1, D("720000.00")),
                                  ("Midlertidig Bo", 1, D("547500.00")), ("Hjælp ApS", 1, D("208000.00"))]
    assert result.by_unit == [("Voksenhandicap", 5, D("3177932.50"))]

    assert (result.followups_on_time, result.followups_late) == (3, 2)
    assert (result.followups_overdue, result.followups_soon) == (2, 2)
    assert [(data_key, row.due_date, row.state, row.kind, row.responsible)
            for data_key, row in zip(numbers(result.overdue, data), result.overdue, strict=True)] == [
        ("C", date(2026, 5, 1), "overdue", "individual", "Caseworker Voksenhandicap"),
        ("D", date(2026, 6, 10), "overdue", "individual", "Caseworker Voksenhandicap"),
        ("C", TODAY, "due", "supplier_review", "Procurement Voksenhandicap"),
        ("B", date(2026, 6, 20), "soon", "individual", "Caseworker Voksenhandicap")]

    assert [(code, count, average) for code, _label, count, average in result.stages] == [
        ("needs", 0, D("3.8")),          # (4,5 + 3) / 2 = 3,75
        ("market_scan", 0, D("7.0")),    # B's 7 days; F's stay ended the day before the period
        ("dialogue", 0, D("10.0")),      # 9 days 23 h 59 min, ended 23:59 on the last day
        ("terms", 0, None),              # ended 00:30 the day after the period
        ("approval", 0, D("2.0")),
        ("delivery", 1, D("10.0")),      # ended 00:00 Copenhagen time on the first day
        ("follow_up", 4, None),
        ("ending", 0, None)]
    assert result.stages[0][1] == Stage.NEEDS.label

    assert numbers(result.near_dates, data) == ["D", "B", "C"]   # by the nearest date: 01-07, 01-08, 01-09
    assert result.near_until == date(2026, 9, 13)


def test_a_contract_row_holds_its_prices_dates_and_next_follow_up(staff, data):
    result = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    rows = dict(zip(numbers(result.contracts, data), result.contracts, strict=True))

    a = rows["A"]
    assert (a.contract_number, a.supplier_name, a.supplier_cvr, a.unit_name) == (2, "Solhøj ApS", "11111111",
                                                                                   "Voksenhandicap")
    assert (a.annual_cost, a.list_price_annual, a.difference) == (D("894432.50"), D("912500.00"), D("-18067.50"))
    assert (a.review_date, a.notice_date) == (date(2027, 3, 1), date(2026, 12, 1))
    assert (a.delivery_started_on, a.next_followup, a.next_followup_state) == (date(2025, 3, 1), date(2026, 9, 1),
                                                                               "scheduled")
    c = rows["C"]
    assert (c.annual_cost, c.list_price_annual, c.difference) == (D("808000.00"), None, None)
    assert (c.review_date, c.notice_date) == (date(2026, 9, 1), date(2026, 6, 1))
    assert (c.next_followup, c.next_followup_state) == (date(2026, 5, 1), "overdue")
    d = rows["D"]
    assert (d.difference, d.review_date, d.notice_date) == (D("20000.00"), date(2026, 10, 1), date(2026, 7, 1))
    assert (rows["B"].next_followup, rows["B"].next_followup_state) == (date(2026, 6, 20), "soon")
    f = rows["F"]
    assert (f.end_date, f.next_followup, f.difference) == (date(2025, 12, 31), None, D("0.00"))


def test_the_period_decides_which_contracts_and_follow_ups_count(staff, data):
    this_year = portfolio.build(staff.manager, PortfolioFilters(None, date(2026, 1, 1), TODAY), TODAY)
    assert numbers(this_year.contracts, data) == ["A", "B", "C", "D"]     # F ended 31-12-2025
    assert (this_year.followups_on_time, this_year.followups_late) == (1, 2)
    assert this_year.annual_total == D("2630432.50")

    last_year = portfolio.build(staff.manager, PortfolioFilters(None, date(2025, 6, 15), date(2025, 12, 31)), TODAY)
    assert numbers(last_year.contracts, data) == ["A", "C", "D", "F"]     # B started 10-01-2026
    assert (last_year.followups_on_time, last_year.followups_late) == (2, 0)
    # Open follow-ups and near dates are about today, whatever the period.
    assert (last_year.followups_overdue, last_year.followups_soon) == (2, 2)
    assert numbers(last_year.near_dates, data) == ["D", "B", "C"]

    ending_day = portfolio.build(staff.manager, PortfolioFilters(None, date(2025, 12, 31), date(2025, 12, 31)), TODAY)
    assert "F" in numbers(ending_day.contracts, data)


def test_economy_sees_the_cases_they_are_on_in_every_unit(staff, data):
    mine = portfolio.build(staff.economy, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    assert numbers(mine.contracts, data) == ["A", "B", "H"]
    assert mine.unit_name is None
    assert mine.annual_total == D("2197432.50")
    assert mine.by_unit == [("Voksenhandicap", 2, D("1102432.50")), ("Børn og Familie", 1, D("1095000.00"))]
    assert numbers(mine.overdue, data) == ["H", "B"]

    other_unit = staff.caseworker_other.unit_id
    narrowed = portfolio.build(staff.economy, PortfolioFilters(other_unit, PERIOD.period_from, TODAY), TODAY)
    assert numbers(narrowed.contracts, data) == ["H"]
    assert narrowed.unit_name == "Børn og Familie"
    assert [(code, count) for code, _label, count, _avg in narrowed.stages if count] == [("follow_up", 1)]

    assert portfolio.build(staff.economy_other, PERIOD, TODAY).contracts == []


def test_a_manager_never_sees_another_unit(staff, data):
    other_unit = staff.caseworker_other.unit_id
    with pytest.raises(ServiceError) as refused:
        portfolio.build(staff.manager, PortfolioFilters(other_unit, PERIOD.period_from, TODAY), TODAY)
    assert refused.value.field == "unit"
    everything = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    assert "H" not in numbers(everything.contracts, data) and "I" not in numbers(everything.contracts, data)


@pytest.mark.parametrize("login", ["caseworker", "procurement", "admin"])
def test_other_roles_get_no_portfolio(staff, data, login):
    with pytest.raises(ServiceError):
        portfolio.build(staff[login], PERIOD, TODAY)


def test_an_empty_portfolio_has_zeros_and_no_charts(staff, english):
    result = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    assert (result.contracts, result.annual_total, result.savings, result.overdue) == ([], D("0.00"),
                                                                                      D("0.00"), [])
    assert all(average is None for _c, _l, _n, average in result.stages)
    drawn = charts.portfolio_charts(result)
    assert set(drawn) == {"by_legal_basis", "by_supplier", "followups", "stage_days"}
    assert all(chart.svg == "" and chart.data_uri == "" for chart in drawn.values())


def test_the_figures_take_a_fixed_number_of_queries(staff, data):
    def count_queries(user, filters) -> int:
        with counted() as statements:
            portfolio.build(user, filters, TODAY)
        return statements.count

    filters = PortfolioFilters(None, PERIOD.period_from, TODAY)
    before = count_queries(staff.manager, filters)
    for _ in range(6):
        more = add_case(staff.caseworker, started_on=date(2025, 8, 1))
        add_contract(more, staff.procurement, supplier="Solhøj ApS", cvr="11111111", list_price="1.00",
                     lines=[("døgn", "1.00", "1", False)], start_date=date(2025, 8, 1), duration_months=12)
        add_follow_up(more, date(2026, 6, 1))
        add_visit(more, Stage.NEEDS, "2025-07-01T00:00:00", "2025-07-02T00:00:00")
    db.session.commit()
    assert count_queries(staff.manager, filters) == before
    assert before <= 10


def test_a_case_run_through_the_services_is_counted(app, staff, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))
    today = date.today()
    case = running_case(app, staff, today - timedelta(days=30), today=today)
    with app.test_request_context():
        result = portfolio.build(staff.manager, PortfolioFilters(None, clock.add_months(today, -12), today), today)
        drawn = charts.portfolio_charts(result)
    assert [row.case_id for row in result.contracts] == [case.id]
    row = result.contracts[0]
    # The chosen reply: 2.450,50 a day; the offer's list price 2.500,00 a day.
    assert (row.annual_cost, row.list_price_annual, row.difference) == (D("894432.50"), D("912500.00"),
                                                                        D("-18067.50"))
    assert row.next_followup == clock.add_months(today - timedelta(days=30), 3)
    assert {code: count for code, _l, count, _a in result.stages}["follow_up"] == 1
    assert all(average is not None for code, _l, _n, average in result.stages if code in ("needs", "approval"))
    assert drawn["by_legal_basis"].svg and drawn["stage_days"].svg


def test_a_contract_with_dates_at_the_edge_of_the_calendar_does_not_break_the_portfolio(staff):
    odd = add_case(staff.caseworker, started_on=date(2025, 8, 1))
    monthly = [("måned", "100.00", "1", False)]
    add_contract(odd, staff.procurement, supplier="Fremtid ApS", cvr="12121212", lines=monthly, list_price=None,
                 start_date=date(9999, 12, 1), duration_months=24)
    early = add_case(staff.caseworker, started_on=date(2025, 8, 1))
    add_contract(early, staff.procurement, supplier="Fortid ApS", cvr="13131313", lines=monthly, list_price=None,
                 start_date=date(1, 1, 1), review_date=date(1, 2, 1), notice_months=3)
    db.session.commit()
    result = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    assert [(row.review_date, row.notice_date) for row in result.contracts] == [(None, None), (date(1, 2, 1), None)]


# --- Filters ------------------------------------------------------------------------------------------------

def test_default_filters_are_the_own_unit_and_the_last_twelve_months(staff):
    filters = portfolio.parse_filters({}, staff.manager, TODAY)
    assert filters == PortfolioFilters(staff.manager.unit_id, date(2025, 6, 15), TODAY)
    assert portfolio.parse_filters({"unit": ""}, staff.manager, TODAY).unit_id == staff.manager.unit_id
    assert portfolio.parse_filters({}, staff.economy, TODAY).unit_id is None   # economy: all their cases


def test_filters_are_read_as_typed(staff):
    other = staff.caseworker_other.unit_id
    filters = portfolio.parse_filters({"unit": str(other), "from": "01-01-2026", "to": "2026-03-31"},
                                      staff.economy, TODAY)
    assert filters == PortfolioFilters(other, date(2026, 1, 1), date(2026, 3, 31))
    only_to = portfolio.parse_filters({"to": " 31-12-2025 "}, staff.economy, TODAY)
    assert (only_to.period_from, only_to.period_to) == (date(2024, 12, 31), date(2025, 12, 31))
    ten_years = portfolio.parse_filters({"from": "15-06-2016"}, staff.manager, TODAY)
    assert ten_years.period_from == date(2016, 6, 15)


BAD_FILTERS = {
    "unknown unit": ({"unit": "999999"}, "unit", "Choose a unit from the list."),
    "unit not a number": ({"unit": "Voksenhandicap"}, "unit", "Choose a unit from the list."),
    "unit too large": ({"unit": "9" * 30}, "unit", "Choose a unit from the list."),
    "unit not ascii": ({"unit": "²"}, "unit", "Choose a unit from the list."),
    "date not readable": ({"from": "31-02-2026"}, "period_from", "Write the date as dd-mm-yyyy"),
    "date words": ({"to": "i går"}, "period_to", "Write the date as dd-mm-yyyy"),
    "year out of range": ({"from": "01-01-1900"}, "period_from", "Write a date between 01-01-2000 and 31-12-2099."),
    "from after to": ({"from": "02-01-2026", "to": "01-01-2026"}, "period_to", "The period ends before it begins."),
    "longer than ten years": ({"from": "14-06-2016"}, "period_from", "The period can be at most 10 years."),
}


@pytest.mark.parametrize(("args", "field", "message"), BAD_FILTERS.values(), ids=BAD_FILTERS.keys())
def test_bad_filters_are_refused_with_a_clear_message(staff, english, args, field, message):
    with pytest.raises(ServiceError) as refused:
        portfolio.parse_filters(args, staff.economy, TODAY)
    assert (refused.value.field, message in refused.value.message) == (field, True)


def test_a_manager_asking_for_another_unit_is_refused(staff, english):
    with pytest.raises(ServiceError) as refused:
        portfolio.parse_filters({"unit": str(staff.caseworker_other.unit_id)}, staff.manager, TODAY)
    assert refused.value.field == "unit"
    assert "own unit" in refused.value.message


# --- Charts -------------------------------------------------------------------------------------------------

def test_charts_are_deterministic_accessible_svg(staff, data, english):
    result = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    first, second = charts.portfolio_charts(result), charts.portfolio_charts(result)
    assert set(first) == {"by_legal_basis", "by_supplier", "followups", "stage_days"}
    for name, chart in first.items():
        assert chart.svg == second[name].svg, name
        assert chart.svg.startswith("<svg") and chart.svg.count("<svg") == 1
        assert f'id="chart-portfolio-{name}"' in chart.svg
        assert f"<title>{chart.title}</title>" in chart.svg
        assert "<script" not in chart.svg and "<!--" not in chart.svg and "<?xml" not in chart.svg
        assert 'width="800"' in chart.svg
        assert base64.b64decode(chart.data_uri.removeprefix("data:image/svg+xml;base64,")).decode() == chart.svg
    legal = first["by_legal_basis"]
    assert legal.rows[0] == (result.by_legal_basis[0][0], "2", "1.702.432,50\xa0kr.")
    assert "1.702.432,50\xa0kr." in legal.alt and "2 contracts" in legal.alt and "1 contract," in legal.alt
    assert first["followups"].rows == (("Held on time", "3"), ("Held late", "2"), ("Overdue now", "2"))
    assert [label for label, _days in first["stage_days"].rows] == [
        Stage.NEEDS.label, Stage.MARKET_SCAN.label, Stage.DIALOGUE.label, Stage.APPROVAL.label, Stage.DELIVERY.label]
    assert first["stage_days"].rows[0][1] == "3,8"


def test_the_supplier_chart_shows_the_ten_largest_and_the_others(staff, english):
    for serial in range(12):
        case = add_case(staff.caseworker, started_on=date(2025, 8, 1))
        add_contract(case, staff.procurement, supplier=f"Leverandør {serial:02d}", cvr=f"{90000000 + serial}",
                     lines=[("måned", f"{1000 * (serial + 1)}.00", "1", False)], list_price=None,
                     start_date=date(2025, 8, 1), duration_months=36)
    db.session.commit()
    result = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    chart = charts.portfolio_charts(result)["by_supplier"]
    assert len(chart.rows) == 11
    assert chart.rows[0] == ("Leverandør 11", "1", "144.000,00\xa0kr.")
    assert chart.rows[-1] == ("Others (2 suppliers)", "2", "36.000,00\xa0kr.")   # 12.000,00 + 24.000,00


def test_the_charts_render_in_the_pdf(staff, data, english):
    result = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    svgs = "".join(chart.svg for chart in charts.portfolio_charts(result).values())
    body = html_to_pdf(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>x</title></head>"
                       f"<body>{svgs}</body></html>")
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    assert "Solhøj ApS" in text and "Held on time" in text


# --- The page -----------------------------------------------------------------------------------------------

@pytest.fixture
def on_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


@pytest.fixture
def signed_in(make_client):
    """A client signed in as login, reading the pages in English."""
    def sign_in(login: str):
        client = make_client(login)
        client.submit("/language", {"language": "en", "next": "/"}, form_page="/")
        return client
    return sign_in


def page_text(response) -> str:
    return response.get_data(as_text=True).replace("\xa0", " ")


def test_the_manager_sees_the_dashboard(staff, data, signed_in, on_today):
    response = signed_in("manager").get("/reports")
    assert response.status_code == 200
    html = page_text(response)
    assert 'href="/reports"' in html and 'aria-current="page"' in html          # the menu item, current
    assert "3.177.932,50 kr." in html and "10.067,50 kr." in html
    images = re.findall(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="([^"]+)"', html)
    assert len(images) == 4 and all(alt.strip() for alt in images)
    for key in ("C", "D", "B"):
        assert f'href="/cases/{data[key].id}">{data[key].number}</a>' in html
    for key in ("H", "I"):
        assert data[key].number not in html
    assert 'value="15-06-2025"' in html and 'value="15-06-2026"' in html


def test_the_page_shows_no_citizen_name_or_cpr(staff, data, signed_in, on_today):
    html = page_text(signed_in("manager").get("/reports"))
    for case in data.values():
        assert case.citizen.name not in html
        assert case.citizen.cpr not in html and case.citizen.cpr[:6] + "-" not in html
    html = page_text(signed_in("economy").get("/reports"))
    assert "Borger" not in html and "010180" not in html


def test_economy_sees_their_cases_and_can_narrow_to_a_unit(staff, data, signed_in, on_today):
    client = signed_in("economy")
    html = page_text(client.get("/reports"))
    assert data["H"].number in html and "2.197.432,50 kr." in html
    html = page_text(client.get(f"/reports?unit={staff.caseworker_other.unit_id}&from=15-06-2025&to=15-06-2026"))
    assert "1.095.000,00 kr." in html and data["B"].number not in html


@pytest.mark.parametrize("login", ["caseworker", "procurement", "admin", "caseworker_other"])
def test_other_roles_are_refused(staff, signed_in, login):
    client = signed_in(login)
    assert client.get("/reports").status_code == 403
    assert 'href="/reports"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("query", "message"), [
    ("from=31-13-2026", "Write the date as dd-mm-yyyy"),
    ("from=01-06-2026&to=01-05-2026", "The period ends before it begins."),
    ("from=01-01-2000&to=01-01-2026", "The period can be at most 10 years."),
    ("unit=abc", "Choose a unit from the list."),
    ("unit={other}", "Managers see the figures of their own unit only."),
])
def test_bad_filters_on_the_page_answer_422_without_figures(staff, data, signed_in, on_today, query, message):
    response = signed_in("manager").get("/reports?" + query.format(other=staff.caseworker_other.unit_id))
    assert response.status_code == 422
    html = page_text(response)
    assert message in html
    assert 'id="error-summary"' in html and 'aria-invalid="true"' in html
    assert 'id="figures-heading"' not in html and "data:image/svg+xml" not in html
    assert "3.177.932,50" not in html
    if "from=" in query:
        assert query.split("&")[0].removeprefix("from=") in html    # what was typed is kept


def test_no_data_shows_a_message_instead_of_charts(staff, signed_in, on_today):
    html = page_text(signed_in("manager").get("/reports"))
    assert html.count("No data for the period.") >= 4
    assert "data:image/svg+xml" not in html


def test_a_thousand_contracts_build_fast(staff, english):
    """1,000 active contracts with their follow-ups and stays (inserted in bulk): the figures and charts fast."""
    cw, count = staff.caseworker, 1000
    tables = {model: model.__table__ for model in (Citizen, PurchaseCase, ContractVersion, ContractPriceLine,
                                                    FollowUp, StageVisit)}
    rows = {model: [] for model in tables}
    for n in range(1, count + 1):
        started = date(2025, 1, 1) + timedelta(days=n % 300)
        rows[Citizen].append({"id": n, "cpr": f"0202{n:06d}", "name": f"Borger {n}", "home_municipality": "101"})
        rows[PurchaseCase].append({
            "id": n, "number": f"SK-2025-{n:05d}", "citizen_id": n, "unit_id": cw.unit_id, "owner_id": cw.id,
            "legal_basis": ("SEL-108", "SEL-85", "BL-46", "SEL-107")[n % 4], "target_group": "intellectual_disability",
            "stage": "follow_up", "delivery_started_on": started, "stage_entered_at": at("2025-01-01T00:00:00"),
            "created_at": at("2025-01-01T00:00:00"), "changed_at": at("2025-01-01T00:00:00"), "version": 1})
        rows[ContractVersion].append({
            "id": n, "case_id": n, "number": 1, "status": "approved", "acting_municipality": "Eksempel Kommune",
            "paying_municipality": "Eksempel Kommune", "supplier_name": f"Leverandør {n % 150}",
            "supplier_cvr": f"{80000000 + n % 150}", "offer_name": "Tilbud", "legal_basis": "SEL-108",
            "primary_service": "Botilbud", "list_price_annual": D("800000.00"), "start_date": started,
            "duration_months": 12 + n % 24, "notice_months": 3, "drafted_by_id": staff.procurement.id,
            "created_at": at("2025-01-01T00:00:00"), "version": 1, "payment_terms": "arrears", "payment_days": 30,
            "price_regulation": "PL"})
        rows[ContractPriceLine] += [
            {"contract_id": n, "description": "Døgn", "unit": "døgn", "unit_price": D("2000.00"), "quantity": D(1),
             "supplement": False},
            {"contract_id": n, "description": "Timer", "unit": "time", "unit_price": D("400.00"), "quantity": D(2),
             "supplement": True}]
        rows[FollowUp] += [
            {"case_id": n, "kind": "individual", "due_date": date(2025, 12, 1),
             "held_on": date(2025, 12, 1) + timedelta(days=n % 3), "outcome_applied": True, "version": 1},
            {"case_id": n, "kind": "individual", "due_date": TODAY + timedelta(days=n % 60 - 20),
             "held_on": None, "outcome_applied": False, "version": 1}]
        rows[StageVisit].append({"case_id": n, "stage": "needs", "entered_at": at("2025-07-01T00:00:00"),
                                 "left_at": at("2025-07-08T12:00:00")})
    for model, table in tables.items():
        db.session.execute(table.insert(), rows[model])
    db.session.commit()
    db.session.expire_all()

    started = time.perf_counter()
    result = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    drawn = charts.portfolio_charts(result)
    elapsed = time.perf_counter() - started
    assert len(result.contracts) == count
    assert result.annual_total == count * D("771600.00")          # 730.000,00 + 41.600,00 each
    assert result.savings == count * D("28400.00")
    assert (result.followups_on_time, result.followups_late) == (333, 667)   # held 0, 1 or 2 days after the due date
    assert result.stages[0][3] == D("7.5")
    assert len(drawn["by_supplier"].rows) == 11
    assert elapsed < 2.0, elapsed


# --- What the dashboard loads -------------------------------------------------------------------------------

def count_statements(action) -> int:
    """The SQL statements `action()` sends."""
    seen = []

    def note(*_args):
        seen.append(1)
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return len(seen)


def add_running_cases(staff, count: int) -> None:
    """count more running placements in the home unit, each with an overdue follow-up, a near review date
    and a stay that ended in the period."""
    for _ in range(count):
        more = add_case(staff.caseworker, started_on=date(2025, 8, 1))
        add_contract(more, staff.procurement, supplier=f"Leverandør {next(_serials)}", cvr=f"{next(_serials):08d}",
                     list_price="1.00", lines=[("døgn", "1.00", "1", False)], start_date=date(2025, 8, 1),
                     review_date=date(2026, 8, 1))
        add_follow_up(more, date(2026, 6, 1))
        add_visit(more, Stage.NEEDS, "2025-07-01T00:00:00", "2025-07-02T00:00:00")
    db.session.commit()


def test_the_dashboard_page_takes_the_same_queries_for_2_or_20_more_cases(staff, data, signed_in, on_today):
    client = signed_in("manager")
    client.get("/reports")                                 # caches warm, as for every later request
    add_running_cases(staff, 2)
    few = count_statements(lambda: client.get("/reports"))
    add_running_cases(staff, 18)
    many = count_statements(lambda: client.get("/reports"))
    assert few == many
    lean = count_statements(lambda: portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY),
                                                    TODAY, contracts=False, listed=3))
    assert lean <= 10


def test_the_dashboard_lists_the_first_rows_and_counts_them_all(staff, data):
    filters = PortfolioFilters(staff.manager.unit_id, PERIOD.period_from, TODAY)
    every = portfolio.build(staff.manager, filters, TODAY)
    lean = portfolio.build(staff.manager, filters, TODAY, contracts=False, listed=2)

    assert (lean.contracts, lean.active_contracts, every.active_contracts) == ([], 5, 5)
    for figure in ("annual_total", "list_total", "savings", "with_list_price", "by_legal_basis", "by_supplier",
                   "by_unit", "followups_on_time", "followups_late", "followups_overdue", "followups_soon",
                   "stages", "near_until"):
        assert getattr(lean, figure) == getattr(every, figure), figure
    assert lean.overdue == every.overdue[:2] and (lean.overdue_count, every.overdue_count) == (4, 4)
    assert lean.near_dates == every.near_dates[:2] and (lean.near_count, every.near_count) == (3, 3)
    assert numbers(lean.near_dates, data) == ["D", "B"]


def test_the_page_says_when_a_list_shows_only_its_first_rows(staff, data, signed_in, on_today, monkeypatch):
    from workflow.reports import dashboard

    html = page_text(signed_in("manager").get("/reports"))
    assert "are shown." not in html                        # 4 and 3 rows: all shown
    monkeypatch.setattr(dashboard, "LISTED", 2)
    html = page_text(signed_in("manager").get("/reports"))
    assert "The first 2 of 4 are shown." in html and "The first 2 of 3 are shown." in html
    assert html.count('href="/reports/followup.pdf?') == 3 and "The report (PDF) lists them all." in html
    for key in ("C", "D"):                                 # overdue 01-05 and 10-06; near 01-07 (D) and 01-08 (B)
        assert f'href="/cases/{data[key].id}">{data[key].number}</a>' in html


def test_annual_costs_summed_in_the_database_round_as_pricing_does(staff):
    """Price lines whose year falls on half an øre, either way from zero, in each unit of price."""
    lines = [("døgn", "0.01", "0.50", False), ("døgn", "-0.01", "0.50", False), ("time", "123.45", "7.50", True),
             ("døgn", "0.03", "0.10", False), ("engangsbeløb", "99.99", "1", True), ("time", "0.01", "0.33", False)]
    case = add_case(staff.caseworker, started_on=date(2025, 8, 1))
    contract = add_contract(case, staff.procurement, supplier="Øre ApS", cvr="31313131", lines=lines,
                            list_price="50000.00", start_date=date(2025, 8, 1), duration_months=36)
    db.session.commit()
    expected = pricing.yearly_total(contract.lines)
    assert expected == D("1.83") - D("1.83") + D("48145.50") + D("1.10") + D("99.99") + D("0.17")

    result = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    assert result.contracts[0].annual_cost == expected == result.annual_total
    assert result.by_supplier == [("Øre ApS", 1, expected)]
    assert result.savings == D("50000.00") - expected


def test_stays_are_timed_to_the_microsecond_and_a_stay_that_ends_before_it_began_counts_as_none(staff):
    case = add_case(staff.caseworker)
    add_visit(case, Stage.NEEDS, "2025-07-01T00:00:00.250000", "2025-07-02T12:00:00.750000")   # 1,5 days + 0,5 s
    add_visit(case, Stage.NEEDS, "2025-08-02T00:00:00", "2025-08-01T00:00:00")                 # ended before
    add_visit(case, Stage.TERMS, "2025-09-01T00:00:00.000001", "2025-09-01T07:12:00")           # 0,3 day - 1 µs
    add_visit(case, Stage.TERMS, "2025-09-02T00:00:00", "2025-09-02T00:00:00")
    add_visit(case, Stage.DIALOGUE, "2025-09-01T00:00:00", "2025-09-01T07:12:00")                # 0,3 day
    add_visit(case, Stage.DIALOGUE, "2025-09-02T00:00:00", "2025-09-02T00:00:00")
    db.session.commit()
    result = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    averages = {code: average for code, _label, _count, average in result.stages}
    # 0,750003; just under 0,15 (down); exactly 0,15 (half up)
    assert (averages["needs"], averages["terms"], averages["dialogue"]) == (D("0.8"), D("0.1"), D("0.2"))


def test_near_dates_are_found_to_the_day_at_the_edges_of_the_months(staff):
    """today 15-06-2026, near until 13-09-2026: the months June to September hold candidates, the days decide."""
    def running(supplier: str, **terms) -> PurchaseCase:
        case = add_case(staff.caseworker, started_on=date(2024, 1, 1))
        add_contract(case, staff.procurement, supplier=supplier, cvr="41414141", lines=[("måned", "1.00", "1", False)],
                     list_price=None, **{"start_date": None, **terms})
        return case
    cases = {
        "review 15-06": running("A", review_date=TODAY, notice_months=0),
        "review 14-06": running("B", review_date=date(2026, 6, 14), notice_months=0),
        "review 13-09": running("C", review_date=date(2026, 9, 13), notice_months=0),
        "review 14-09": running("D", review_date=date(2026, 9, 14), notice_months=0),
        "30-09, notice 30-06": running("E", start_date=date(2024, 9, 30), duration_months=24, notice_months=3),
        "31-03-2027, notice 30-06": running("F", start_date=date(2025, 3, 31), duration_months=24, notice_months=9),
        "29-09 from a start": running("G", start_date=date(2024, 2, 29), duration_months=31, notice_months=0),
        "31-05-2027, notice 30-09": running("H", start_date=date(2025, 5, 31), duration_months=24, notice_months=8),
    }
    db.session.commit()
    result = portfolio.build(staff.manager, PortfolioFilters(None, PERIOD.period_from, TODAY), TODAY)
    names = {case.number: name for name, case in cases.items()}
    assert [(names[row.case_number], row.notice_date, row.review_date) for row in result.near_dates] == [
        ("review 15-06", TODAY, TODAY),
        ("30-09, notice 30-06", date(2026, 6, 30), date(2026, 9, 30)),
        ("31-03-2027, notice 30-06", date(2026, 6, 30), date(2027, 3, 31)),
        ("review 13-09", date(2026, 9, 13), date(2026, 9, 13))]                 # 29-09 and 30-09: too late
    assert result.near_count == 4
