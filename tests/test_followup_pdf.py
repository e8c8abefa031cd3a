"""The case follow-up report at /cases/<id>/followup.pdf: what it prints, how long it gets, who may read it.

Cases are built through the real services (tests/support/running.py): a running placement at 2.450,50 kr.
a day (894.432,50 kr. a year), follow-ups recorded on different days with different goal scores, and the
supplier side with invoiced periods whose contract amounts are whole days of that price.
"""
from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from tests.factories import make_case
from tests.support.contracts import CITIZEN, CPR, CPR_FORMS, GOALS, MASKED_CPR, SUPPLIER
from tests.support.pdf import flat, pdf_text
from tests.support.running import follow_up_input, running_case
from workflow import clock, i18n
from workflow.extensions import db
from workflow.i18n import day, level_label
from workflow.models import AccessLog, FollowUp
from workflow.services import followup, followup_pdf
from workflow.services.cases import current_assessment
from workflow.vum import THEME_LABELS

TODAY = date.today()
STARTED = TODAY - timedelta(days=300)    # 301 days so far at 2.450,50 kr.: 737.600,50 kr.
HELD = [STARTED + timedelta(days=n) for n in (60, 120, 180, 240)]
# Per held follow-up, the scores of the two goals (GOALS[0], GOALS[1]).
SCORES = [("not_achieved", "partly"), ("partly", "partly"), ("partly", "achieved"), ("achieved", "achieved")]


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))


@pytest.fixture
def request_ctx(app, db):
    with app.test_request_context():
        yield


def label(labels: dict, code: str) -> str:
    """A label as the Danish report prints it (English until the catalogue has it)."""
    with force_locale("da"):
        return str(labels[code])


def scores_of(case, first: str, second: str) -> list[followup.GoalScoreInput]:
    goals = sorted(current_assessment(case).goals, key=lambda goal: goal.position)
    assert [goal.text for goal in goals] == list(GOALS)
    return [followup.GoalScoreInput(goals[0].id, first), followup.GoalScoreInput(goals[1].id, second)]


def record(case, staff, held_on: date, scores=("partly", "partly"), **changes) -> FollowUp:
    held = followup.record(case, staff.caseworker, follow_up_input(case, held_on, scores=scores_of(case, *scores),
                                                                   **changes), TODAY)
    db.session.commit()
    return held


def supplier_side(case, staff, follow_up: FollowUp, start: date, days: int, invoiced: str, **changes) -> None:
    values = {"reports_received": True, "quality": "good", "period_from": start,
              "period_to": start + timedelta(days=days - 1), "invoiced": Decimal(invoiced)}
    values.update(changes)
    followup.record_supplier_side(case, follow_up, staff.procurement, followup.SupplierSideInput(**values), TODAY)
    db.session.commit()


def case_with_history(app, staff):
    """Four held follow-ups with improving scores; the supplier side on two of them and on the yearly review."""
    case = running_case(app, staff, STARTED, today=TODAY)
    held = []
    for held_on, scores in zip(HELD, SCORES, strict=True):
        held.append(record(case, staff, held_on, scores,
                           functional_levels={"practical_tasks": 2} if held_on == HELD[1] else {},
                           notes=f"Noter fra {day(held_on)} <b>fed</b>"))
    # 30 days = 73.515,00 kr. by the contract, 31 days = 75.965,50 kr.
    supplier_side(case, staff, held[0], STARTED, 30, "74000.00", deviations="Manglende månedsrapport i marts",
                  incidents="Et fald på badeværelset")
    supplier_side(case, staff, held[1], STARTED + timedelta(days=30), 31, "75965.50", quality="acceptable")
    review = next(item for item in followup.follow_ups(case) if item.kind == "supplier_review")
    supplier_side(case, staff, review, STARTED + timedelta(days=61), 30, "73000.00", quality="poor",
                  reports_received=False, held_on=TODAY - timedelta(days=5), deviations="Ingen aktivitetsplan")
    return case


# --- What the report prints --------------------------------------------------------------------------------------

def test_report_data_holds_plain_values_only(app, staff, request_ctx):
    case = case_with_history(app, staff)
    with force_locale("da"):
        data = followup_pdf.report_data(case, TODAY)

    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, str | int | bool)

    assert plain(data)
    table = data["goal_tables"][0]
    assert table["dates"] == [day(held_on) for held_on in HELD]
    assert [row["goal"] for row in table["rows"]] == list(GOALS)
    for position, row in enumerate(table["rows"]):
        assert [cell["score"] for cell in row["cells"]] == [scores[position] for scores in SCORES]
    assert data["citizen"]["cpr"] == MASKED_CPR


def test_pdf_shows_goals_over_time_supplier_side_and_money(app, staff, request_ctx):
    case = case_with_history(app, staff)
    body = followup_pdf.render(case, TODAY)
    reader = PdfReader(io.BytesIO(body))
    text = pdf_text(body)
    joined = flat(text)

    for expected in ("Eksempel Kommune", case.number, CITIZEN, MASKED_CPR, SUPPLIER, "Solhøj", day(STARTED),
                     "Voksenhandicap", staff.caseworker.full_name, *GOALS):
        assert flat(expected) in joined, expected
    # The contract in force: annual cost against the list price; no review date in the terms, so the expected
    # duration (24 months) counts from the start of delivery, and notice (3 months) is due before it ends.
    expected_end = clock.add_months(STARTED, 24)
    for expected in ("894.432,50 kr.", "912.500,00 kr.", "-18.067,50 kr.", day(expected_end),
                     day(clock.add_months(expected_end, -3))):
        assert flat(expected) in joined, expected
    # Goals over time: each date once as a column, each goal's row with its score per date in order.
    lines = text.splitlines()
    for position, goal in enumerate(GOALS):
        expected = [label(i18n.GOAL_SCORES, scores[position]) for scores in SCORES]
        row = next(line for line in lines if line.startswith(goal[:12]))
        assert flat("".join(expected)) in flat(row), (row, expected)
    for held_on in HELD:
        assert day(held_on) in text
    # The history: the changed functional level, the notes (markup printed as text), the outcome.
    assert flat("Noter fra") in joined and flat("<b>fed</b>") in joined
    assert flat(f"{label(THEME_LABELS, 'practical_tasks')}: {level_label(2)}") in joined
    # The supplier side.
    for expected in ("Manglende månedsrapport i marts", "Et fald på badeværelset", "Ingen aktivitetsplan",
                     label(i18n.QUALITY_RATINGS, "good"), label(i18n.QUALITY_RATINGS, "acceptable"),
                     label(i18n.QUALITY_RATINGS, "poor")):
        assert flat(expected) in joined, expected
    # The money: invoiced, by the contract, difference per period and in total; the cost so far.
    for expected in ("74.000,00 kr.", "73.515,00 kr.", "485,00 kr.", "75.965,50 kr.", "0,00 kr.",
                     "73.000,00 kr.", "-515,00 kr.", "222.965,50 kr.", "222.995,50 kr.", "-30,00 kr.",
                     "737.600,50 kr."):
        assert flat(expected) in joined, expected
    # The masked CPR only, in the text and in the metadata.
    digits = re.sub(r"[\s\-.]", "", text)
    assert all(form not in text for form in CPR_FORMS) and CPR not in digits
    metadata = " ".join(str(value) for value in (reader.metadata or {}).values())
    assert all(form not in metadata for form in CPR_FORMS)
    pages = len(reader.pages)
    assert flat(f"Side 1 af {pages}") in joined and flat(f"Side {pages} af {pages}") in joined
    assert flat(day(TODAY)) in joined                                   # made on


def test_schedule_shows_every_follow_up_with_its_state(app, staff, request_ctx):
    case = case_with_history(app, staff)
    with force_locale("da"):
        rows = followup_pdf.report_data(case, TODAY)["schedule"]
    items = sorted(followup.follow_ups(case), key=lambda item: (item.held_on or item.due_date, item.id))
    assert [row["due"] for row in rows] == [day(item.due_date) for item in items]      # in the order they happened
    states = [row["state"] for row in rows]
    assert states.count("done") == 5                                       # four follow-ups and the review
    assert set(states) - {"done"} <= {"scheduled", "soon"}                 # the next ones lie ahead
    # An open follow-up whose day has passed is overdue, and says so.
    late = TODAY + timedelta(days=400)
    with force_locale("da"):
        later = followup_pdf.report_data(case, late)["schedule"]
    assert "overdue" in {row["state"] for row in later}
    text = pdf_text(followup_pdf.render(case, late))
    assert flat(label(i18n.FOLLOWUP_STATES, "overdue")) in flat(text)
    assert flat(label(i18n.FOLLOWUP_KINDS, "supplier_review")) in flat(text)


def test_ending_shows_end_date_notice_and_costs(app, staff, request_ctx):
    case = running_case(app, staff, STARTED, today=TODAY)
    end_date = TODAY - timedelta(days=10)
    record(case, staff, TODAY - timedelta(days=20), ("achieved", "achieved"), outcome="end", end_date=end_date,
           end_reason="Flytter til egen bolig")
    ending = followup.ending(case)
    ending.final_cost = Decimal("700000.00")
    db.session.commit()
    text = flat(pdf_text(followup_pdf.render(case, TODAY)))
    assert ending.computed_cost == Decimal("713095.50")                 # 291 days at 2.450,50 kr.
    for expected in (day(end_date), "Flytter til egen bolig", day(ending.notice_date), "700.000,00 kr."):
        assert flat(expected) in text, expected
    assert text.count(flat("713.095,50 kr.")) == 2                      # computed, and so far: to the end date


# --- Length ------------------------------------------------------------------------------------------------------

def test_page_count_grows_with_the_follow_ups(app, staff, request_ctx):
    case = running_case(app, staff, STARTED, today=TODAY)
    record(case, staff, HELD[0])
    short = len(PdfReader(io.BytesIO(followup_pdf.render(case, TODAY))).pages)
    assert short <= 2

    for number in range(1, 11):
        record(case, staff, HELD[0] + timedelta(days=20 * number), ("achieved", "partly"),
               notes="Langt referat. " * 40)
    body = followup_pdf.render(case, TODAY)
    long = len(PdfReader(io.BytesIO(body)).pages)
    assert long > short
    text = pdf_text(body)
    assert flat(f"Side {long} af {long}") in flat(text)
    # Eleven dates do not fit one table: the goals over time come in tables of four dates.
    with force_locale("da"):
        tables = followup_pdf.report_data(case, TODAY)["goal_tables"]
    assert [len(table["dates"]) for table in tables] == [4, 4, 3]


# --- The route ---------------------------------------------------------------------------------------------------

def test_route_serves_the_report_inline_and_logs_the_read(app, staff, make_client, request_ctx):
    case = running_case(app, staff, STARTED, today=TODAY)
    record(case, staff, HELD[0])
    response = make_client("caseworker").get(f"/cases/{case.id}/followup.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'inline; filename="{case.number}-opfoelgning.pdf"'
    body = response.get_data()
    assert body.startswith(b"%PDF-")
    xmp = PdfReader(io.BytesIO(body)).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert re.search(rb"pdfaid:part(>|=\")3", xmp)
    assert flat(MASKED_CPR) in flat(pdf_text(body))
    rows = db.session.scalars(select(AccessLog).where(AccessLog.case_id == case.id,
                                                      AccessLog.action == "followup.pdf")).all()
    assert [(row.user_id, row.citizen_id, row.purpose) for row in rows] == [
        (staff.caseworker.id, case.citizen_id, "Opfølgningsrapport (PDF)")]


def test_route_is_only_for_staff_who_see_the_case(app, staff, make_client, request_ctx):
    case = running_case(app, staff, STARTED, today=TODAY)
    url = f"/cases/{case.id}/followup.pdf"
    for login, status in (("caseworker_other", 404), ("procurement_other", 404), ("manager_other", 404),
                          ("admin", 403), ("procurement", 200), ("economy", 200), ("manager", 200)):
        assert make_client(login).get(url).status_code == status, login
    assert make_client().get(url).status_code in (302, 401)
    assert make_client("caseworker").get(f"/cases/{case.id + 1000}/followup.pdf").status_code == 404
    logged = db.session.scalars(select(AccessLog.user_id).where(AccessLog.action == "followup.pdf")).all()
    assert sorted(logged) == sorted([staff.procurement.id, staff.economy.id, staff.manager.id])


def test_route_answers_404_before_the_delivery_started(app, staff, make_client, request_ctx):
    case = make_case(staff.caseworker)
    assert make_client("caseworker").get(f"/cases/{case.id}/followup.pdf").status_code == 404
    assert db.session.scalar(select(AccessLog.id).where(AccessLog.action == "followup.pdf")) is None
