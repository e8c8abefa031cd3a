"""Stages 6 to 8 through the services: the start of delivery, the follow-up schedule, the records and the
effect of each outcome, the supplier and money side, due states, and the ending.

The cases are walked to their running placement through the same services the pages use
(tests/support/running.py, tests/support/contracts.py). Every date a rule compares with "today" is passed
explicitly, except where the test is about the Copenhagen clock itself.
"""
from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, select

from tests.factories import assess, make_case
from tests.support.contracts import CHOSEN_PRICE, approved, build_terms_case, line, place_in_stage, submitted, terms_of
from tests.support.running import follow_up_input, running_case
from workflow import clock
from workflow.extensions import db
from workflow.models import (
    AuditEvent,
    CaseEnding,
    ContractVersion,
    FollowUp,
    NeedsAssessment,
    PurchaseCase,
    StageVisit,
)
from workflow.process import Event, Stage
from workflow.services import (
    ServiceError,
    StaleEdit,
    case_list,
    cases,
    contracts,
    dialogue,
    followup,
    needs,
    settings,
    transitions,
)

STARTED = date(2026, 2, 2)                 # the placement's actual start in most tests
ANNUAL = Decimal("894432.50")              # 2.450,50 a day × 365
NEW_PRICE = Decimal("2300.00")             # a day, after a change within frame


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch, tmp_path):
    """Mail is written to this test's own outbox folder."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))
    return tmp_path / "outbox"


# --- Helpers ---------------------------------------------------------------------------------------------------

def delivery_case(app, staff) -> PurchaseCase:
    """A case whose contract is approved: waiting in stage 6 for the start of delivery."""
    case = build_terms_case(app, staff)
    with app.test_request_context():
        approved(case, staff)
    assert case.stage == Stage.DELIVERY
    return case


def fresh(case: PurchaseCase) -> PurchaseCase:
    db.session.expire_all()
    return db.session.get(PurchaseCase, case.id)


def plan(case: PurchaseCase) -> list[tuple[str, date, date | None, date | None]]:
    """The schedule as (kind, due, held, cancelled), in due order."""
    return [(f.kind, f.due_date, f.held_on, f.cancelled_on) for f in followup.follow_ups(case)]


def open_due(case: PurchaseCase, kind: str = "individual") -> list[date]:
    return [f.due_date for f in followup.follow_ups(case) if f.kind == kind and f.is_open]


def state(case: PurchaseCase) -> dict:
    """Everything a follow-up service may change, read fresh from the database."""
    case = fresh(case)
    rows = db.session.scalars(select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.id)).all()
    return {
        "case": (case.stage, case.version, case.delivery_started_on, case.closed_at),
        "follow_ups": [(f.kind, f.due_date, f.held_on, f.cancelled_on, f.outcome, f.outcome_applied, f.quality,
                        f.invoiced, f.contract_amount, f.version, len(f.goal_scores)) for f in rows],
        "endings": [(e.end_date, e.reason, e.notice_date, e.computed_cost, e.final_cost, e.version)
                    for e in db.session.scalars(select(CaseEnding).where(CaseEnding.case_id == case.id))],
        "contracts": [(v.number, v.status) for v in contracts.versions(case)],
        "assessments": db.session.scalar(select(func.count()).select_from(NeedsAssessment)
                                         .where(NeedsAssessment.case_id == case.id)),
        "visits": db.session.scalar(select(func.count()).select_from(StageVisit).where(StageVisit.case_id == case.id)),
    }


def refused(case: PurchaseCase, action, field: str | None = None, error=ServiceError) -> ServiceError:
    """The action is refused (on this field) and, once the request rolls back as the views do, nothing changed."""
    before = state(case)
    with pytest.raises(error) as raised:
        action()
    if field is not None:
        assert raised.value.field == field
    db.session.rollback()
    assert state(case) == before
    return raised.value


def change_intervals(**by_basis: tuple[int, int]) -> None:
    intervals = copy.deepcopy(settings.get("followup_intervals"))
    for basis, (first, then) in by_basis.items():
        intervals[basis.replace("_", "-")] = {"first_months": first, "then_months": then}
    settings.change("followup_intervals", intervals)
    db.session.commit()


def record(case, staff, held_on: date, outcome: str = "continue", today: date | None = None, **changes):
    done = followup.record(case, staff.caseworker, follow_up_input(case, held_on, outcome, **changes),
                           today or held_on)
    db.session.commit()
    return done


def ended_case(app, staff, end_date: date = date(2026, 7, 31)) -> PurchaseCase:
    """A placement started on STARTED and ended at its first follow-up (stage 8)."""
    case = running_case(app, staff, STARTED)
    record(case, staff, date(2026, 5, 4), "end", end_date=end_date, end_reason="Borgeren flytter til egen bolig")
    assert case.stage == Stage.ENDING
    return case


def ending_input(**changes) -> followup.EndingInput:
    values = {"end_date": date(2026, 7, 31), "reason": "Borgeren flytter til egen bolig",
              "final_cost": Decimal("441090.00")}
    values.update(changes)
    return followup.EndingInput(**values)


def events(case: PurchaseCase, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                            AuditEvent.action == action).order_by(AuditEvent.id)))


# --- 1. The schedule -------------------------------------------------------------------------------------------

def test_start_of_delivery_schedules_the_first_follow_up_after_3_months_and_a_supplier_review_after_12(app, staff):
    case = running_case(app, staff, STARTED, today=date(2026, 2, 10))

    assert case.delivery_started_on == STARTED
    assert plan(case) == [("individual", date(2026, 5, 2), None, None),
                          ("supplier_review", date(2027, 2, 2), None, None)]


def test_each_held_follow_up_schedules_the_next_12_months_from_the_day_it_was_held(app, staff):
    case = running_case(app, staff, STARTED)
    record(case, staff, date(2026, 5, 20))                  # 18 days late
    assert open_due(case) == [date(2027, 5, 20)]
    record(case, staff, date(2027, 5, 3), today=date(2027, 5, 3))   # early
    assert open_due(case) == [date(2028, 5, 3)]
    assert [f.held_on for f in followup.follow_ups(case) if f.kind == "individual" and not f.is_open] == [
        date(2026, 5, 20), date(2027, 5, 3)]


def test_changed_intervals_for_the_legal_basis_set_the_first_and_the_later_follow_ups(app, staff):
    change_intervals(SEL_108=(1, 6))
    case = running_case(app, staff, STARTED)

    assert open_due(case) == [date(2026, 3, 2)]
    record(case, staff, date(2026, 3, 4))
    assert open_due(case) == [date(2026, 9, 4)]
    assert open_due(case, "supplier_review") == [date(2027, 2, 2)]   # the supplier review keeps its year


def test_intervals_of_another_legal_basis_do_not_touch_the_case(app, staff):
    change_intervals(SEL_107=(1, 6), BL_46=(2, 4))
    case = running_case(app, staff, STARTED)

    assert followup.interval("SEL-108") == (3, 12)
    assert open_due(case) == [date(2026, 5, 2)]


def test_a_barnets_lov_case_follows_the_intervals_of_its_own_legal_basis(app, staff):
    change_intervals(BL_46=(2, 6))
    case = delivery_case(app, staff)
    # The test builder makes § 108 cases; the schedule reads nothing but the case's legal basis.
    case.legal_basis = "BL-46"
    db.session.commit()
    followup.start_delivery(case, staff.caseworker, STARTED, STARTED)
    db.session.commit()

    assert case.for_child
    assert open_due(case) == [date(2026, 4, 2)]
    record(case, staff, date(2026, 4, 10))
    assert open_due(case) == [date(2026, 10, 10)]


def test_barnets_lov_bases_default_to_the_first_follow_up_within_3_months(db):
    assert {code: followup.interval(code) for code in ("BL-32", "BL-43", "BL-46", "BL-47")} == {
        "BL-32": (3, 12), "BL-43": (3, 12), "BL-46": (3, 12), "BL-47": (3, 12)}


def test_the_supplier_review_comes_again_12_months_after_it_was_held(app, staff):
    case = running_case(app, staff, STARTED)
    review = followup.next_open(case, "supplier_review")
    followup.record_supplier_side(case, review, staff.procurement, followup.SupplierSideInput(
        reports_received=True, quality="good", held_on=date(2027, 2, 15)), date(2027, 2, 20))
    db.session.commit()

    assert review.held_on == date(2027, 2, 15)
    assert open_due(case, "supplier_review") == [date(2028, 2, 15)]


@pytest.mark.parametrize(("start", "months", "due"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),        # leap year
    (date(2025, 11, 30), 3, date(2026, 2, 28)),
    (date(2026, 3, 31), 3, date(2026, 6, 30)),
    (date(2026, 8, 31), 6, date(2027, 2, 28)),
    (date(2027, 2, 28), 12, date(2028, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),      # over the year's end
    (date(2026, 7, 31), -3, date(2026, 4, 30)),      # backwards, as the notice date counts
])
def test_add_months_keeps_the_day_or_takes_the_last_of_a_shorter_month(start, months, due):
    assert clock.add_months(start, months) == due


def test_a_start_on_the_31st_is_followed_up_on_the_last_day_of_a_shorter_month(app, staff):
    change_intervals(SEL_108=(1, 12))
    case = running_case(app, staff, date(2026, 1, 31), today=date(2026, 2, 1))

    assert open_due(case) == [date(2026, 2, 28)]
    assert open_due(case, "supplier_review") == [date(2027, 1, 31)]


# --- 2. Start of delivery --------------------------------------------------------------------------------------

def test_start_of_delivery_moves_the_case_to_follow_up_and_is_audited(app, staff):
    case = delivery_case(app, staff)
    followup.start_delivery(case, staff.caseworker, STARTED, date(2026, 2, 3), version=case.version)
    db.session.commit()

    case = fresh(case)
    assert (case.stage, case.delivery_started_on) == (Stage.FOLLOW_UP, STARTED)
    assert [v.stage for v in db.session.scalars(select(StageVisit).where(StageVisit.case_id == case.id)
                                                .order_by(StageVisit.id))][-2:] == [Stage.DELIVERY, Stage.FOLLOW_UP]
    step = events(case, "case.step")[-1]
    assert (step.actor_id, step.details) == (staff.caseworker.id, {"event": "start_delivery", "from": "delivery",
                                                                   "to": "follow_up"})
    scheduled = events(case, "followup.scheduled")
    assert [(e.actor_id, e.details) for e in scheduled] == [
        (staff.caseworker.id, {"started_on": "2026-02-02", "first_months": 3})]


def test_procurement_on_the_case_may_record_the_start(app, staff):
    case = delivery_case(app, staff)
    followup.start_delivery(case, staff.procurement, STARTED, STARTED)
    db.session.commit()
    assert fresh(case).stage == Stage.FOLLOW_UP


def test_the_start_may_be_recorded_a_year_back_but_not_a_day_more(app, staff):
    case = delivery_case(app, staff)
    today = date(2026, 11, 26)
    refused(case, lambda: followup.start_delivery(case, staff.caseworker, today - timedelta(days=367), today),
            "started_on")
    followup.start_delivery(case, staff.caseworker, today - timedelta(days=366), today)
    db.session.commit()
    assert fresh(case).delivery_started_on == date(2025, 11, 25)


@pytest.mark.parametrize(("started_on", "field"), [
    (None, "started_on"),
    (date(2026, 2, 3), "started_on"),          # tomorrow
    (date(2025, 1, 31), "started_on"),         # 367 days back
], ids=["no date", "future", "too old"])
def test_a_bad_start_date_is_refused_and_changes_nothing(app, staff, started_on, field):
    case = delivery_case(app, staff)
    refused(case, lambda: followup.start_delivery(case, staff.caseworker, started_on, date(2026, 2, 2)), field)
    assert fresh(case).stage == Stage.DELIVERY
    assert plan(case) == []


@pytest.mark.parametrize("login", ["caseworker_other", "procurement_other", "manager_other", "economy", "manager",
                                   "admin"])
def test_only_the_unit_s_caseworkers_and_procurement_on_the_case_record_the_start(app, staff, login):
    case = delivery_case(app, staff)
    refused(case, lambda: followup.start_delivery(case, staff[login], STARTED, STARTED))
    assert plan(case) == []


def test_the_start_is_refused_in_another_stage(app, staff):
    case = build_terms_case(app, staff)       # stage 4: nothing approved yet
    with force_locale("en"):
        error = refused(case, lambda: followup.start_delivery(case, staff.caseworker, STARTED, STARTED))
    assert error.message == "This step is not possible in the stage Contract and terms."

    running = running_case(app, staff, STARTED)
    refused(running, lambda: followup.start_delivery(running, staff.caseworker, date(2026, 2, 5), date(2026, 2, 5)))
    assert fresh(running).delivery_started_on == STARTED


def test_a_stale_start_is_refused(app, staff):
    case = delivery_case(app, staff)
    refused(case, lambda: followup.start_delivery(case, staff.caseworker, STARTED, STARTED,
                                                  version=case.version - 1), error=StaleEdit)


# --- 3. Recording a follow-up: refusals ------------------------------------------------------------------------

def _other_case_goal(staff) -> int:
    other = make_case(staff.caseworker, name="Anden Borger")
    assess(other, staff.caseworker)
    return cases.current_assessment(other).goals[0].id


BAD_RECORDS = {
    "no date": ({"held_on": None}, "held_on"),
    "future": ({"held_on": date(2026, 5, 5)}, "held_on"),
    "before the start": ({"held_on": date(2026, 2, 1)}, "held_on"),
    "no participants": ({"participants": "  \n"}, "participants"),
    "unknown outcome": ({"outcome": "pause"}, "outcome"),
    "a goal not scored": ("drop_goal", "scores"),
    "unknown score": ("bad_score", "scores"),
    "a goal of another case": ("other_goal", "scores"),
    "unknown theme": ({"functional_levels": {"juggling": 2}}, "functional_levels"),
    "level above 4": ({"functional_levels": {"self_care": 5}}, "functional_levels"),
    "level below 0": ({"functional_levels": {"self_care": -1}}, "functional_levels"),
    "level as text": ({"functional_levels": {"self_care": "2"}}, "functional_levels"),
    "end without end date": ({"outcome": "end", "end_reason": "Flytter"}, "end_date"),
    "end without reason": ({"outcome": "end", "end_date": date(2026, 7, 31), "end_reason": " "}, "end_reason"),
    "end before the follow-up": ({"outcome": "end", "end_date": date(2026, 5, 3), "end_reason": "Flytter"}, "end_date"),
}


@pytest.mark.parametrize(("change", "field"), BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_a_bad_follow_up_is_refused_and_changes_nothing(app, staff, change, field):
    case = running_case(app, staff, STARTED)
    data = follow_up_input(case, date(2026, 5, 4))
    if change == "drop_goal":
        data.scores = data.scores[:1]
    elif change == "bad_score":
        data.scores[0].score = "brilliant"
    elif change == "other_goal":
        data.scores.append(followup.GoalScoreInput(_other_case_goal(staff), "achieved"))
    else:
        for name, value in change.items():
            setattr(data, name, value)
    refused(case, lambda: followup.record(case, staff.caseworker, data, date(2026, 5, 4)), field)
    assert fresh(case).stage == Stage.FOLLOW_UP


@pytest.mark.parametrize("login", ["caseworker_other", "procurement", "economy", "manager", "admin"])
def test_only_the_unit_s_caseworkers_record_follow_ups(app, staff, login):
    case = running_case(app, staff, STARTED)
    refused(case, lambda: followup.record(case, staff[login], follow_up_input(case, date(2026, 5, 4)),
                                          date(2026, 5, 4)))


def test_a_follow_up_is_refused_outside_the_follow_up_stage(app, staff):
    case = delivery_case(app, staff)
    refused(case, lambda: followup.record(case, staff.caseworker, follow_up_input(case, date(2026, 5, 4)),
                                          date(2026, 5, 4)))
    ended = ended_case(app, staff)
    refused(ended, lambda: followup.record(ended, staff.caseworker, follow_up_input(ended, date(2026, 6, 1)),
                                           date(2026, 6, 1)))


def test_a_follow_up_cannot_be_dated_before_the_last_one_held(app, staff):
    case = running_case(app, staff, STARTED)
    record(case, staff, date(2026, 5, 20))
    refused(case, lambda: followup.record(case, staff.caseworker, follow_up_input(case, date(2026, 5, 19)),
                                          date(2026, 6, 1)), "held_on")
    record(case, staff, date(2026, 5, 20), today=date(2026, 6, 1))      # the same day is allowed
    assert open_due(case) == [date(2027, 5, 20)]


def test_a_stale_follow_up_or_case_is_refused(app, staff):
    case = running_case(app, staff, STARTED)
    due = followup.next_open(case)
    data = follow_up_input(case, date(2026, 5, 4))
    refused(case, lambda: followup.record(case, staff.caseworker, data, date(2026, 5, 4), version=due.version + 1),
            error=StaleEdit)
    refused(case, lambda: followup.record(case, staff.caseworker, data, date(2026, 5, 4),
                                          case_version=case.version - 1), error=StaleEdit)
    followup.record(case, staff.caseworker, data, date(2026, 5, 4), version=due.version, case_version=case.version)
    db.session.commit()
    assert db.session.get(FollowUp, due.id).held_on == date(2026, 5, 4)


# --- 4. Recording a follow-up: each outcome's effect -----------------------------------------------------------

def test_continue_keeps_the_case_in_follow_up_and_schedules_the_next(app, staff):
    case = running_case(app, staff, STARTED)
    goals = cases.current_assessment(case).goals
    scores = [followup.GoalScoreInput(goals[0].id, "achieved", " Handler selv "),
              followup.GoalScoreInput(goals[1].id, "not_achieved")]
    held = record(case, staff, date(2026, 5, 4), scores=scores, functional_levels={"self_care": 1},
                  notes="  Godt forløb  ")

    case = fresh(case)
    held = db.session.get(FollowUp, held.id)
    assert case.stage == Stage.FOLLOW_UP
    assert (held.due_date, held.held_on, held.outcome, held.outcome_applied) == (
        date(2026, 5, 2), date(2026, 5, 4), "continue", True)
    assert (held.recorded_by_id, held.participants, held.notes, held.functional_levels) == (
        staff.caseworker.id, "Borgeren, kontaktperson, sagsbehandler", "Godt forløb", {"self_care": 1})
    assert [(s.goal_id, s.goal_text, s.score, s.note) for s in held.goal_scores] == [
        (goals[0].id, goals[0].text, "achieved", "Handler selv"), (goals[1].id, goals[1].text, "not_achieved", None)]
    assert open_due(case) == [date(2027, 5, 4)]
    assert followup.pending_outcome(case) is None
    recorded = events(case, "followup.recorded")
    assert [(e.object_id, e.details["outcome"]) for e in recorded] == [(held.id, "continue")]


def test_change_within_frame_sends_the_case_to_terms_with_a_new_draft_version(app, staff):
    case = running_case(app, staff, STARTED)
    first = contracts.in_force(case)
    record(case, staff, date(2026, 5, 4), "change_within_frame")

    case = fresh(case)
    assert case.stage == Stage.TERMS
    versions = contracts.versions(case)
    assert [(v.number, v.status) for v in versions] == [(1, "approved"), (2, "draft")]
    second = versions[1]
    copied = {c.key for c in ContractVersion.__table__.columns} - {
        "id", "number", "status", "submitted_by_id", "reviewed_by_id", "approved_by_id", "approved_at", "created_at",
        "pdf", "pdf_sha256", "document_id", "version", "drafted_by_id"}
    assert {k: getattr(second, k) for k in copied} == {k: getattr(first, k) for k in copied}
    assert [(x.unit, x.unit_price, x.quantity) for x in second.lines] == [
        (x.unit, x.unit_price, x.quantity) for x in first.lines]
    assert open_due(case) == [date(2027, 5, 4)]          # the placement goes on meanwhile
    assert open_due(case, "supplier_review") == [date(2027, 2, 2)]


def test_a_change_within_frame_is_approved_back_into_follow_up_without_a_second_follow_up(app, staff):
    case = running_case(app, staff, STARTED)
    record(case, staff, date(2026, 5, 4), "change_within_frame")
    second = contracts.current(case)
    contracts.save_terms(case, second, staff.procurement, None, terms_of(second, lines=[line("døgn", "2300.00")]))
    contracts.submit(case, second, staff.procurement)
    db.session.commit()
    contracts.review(case, second, staff.economy)
    db.session.commit()
    with app.test_request_context():
        contracts.approve(case, second, staff.manager)
    db.session.commit()

    case = fresh(case)
    assert case.stage == Stage.FOLLOW_UP                 # not stage 6: the placement already runs
    assert [(v.number, v.status) for v in contracts.versions(case)] == [(1, "superseded"), (2, "approved")]
    assert contracts.in_force(case).annual_cost == NEW_PRICE * 365
    assert open_due(case) == [date(2027, 5, 4)]
    assert open_due(case, "supplier_review") == [date(2027, 2, 2)]
    assert events(case, "case.step")[-1].details == {"event": "approve", "from": "approval", "to": "follow_up"}


def test_reassess_sends_the_case_back_to_needs_with_the_assessment_pre_filled(app, staff):
    case = running_case(app, staff, STARTED)
    earlier = cases.current_assessment(case)
    earlier_id = earlier.id
    earlier_themes = [(t.theme, t.level, t.narrative) for t in earlier.themes]
    earlier_goals = [(g.position, g.goal_type, g.text, g.measure) for g in earlier.goals]
    record(case, staff, date(2026, 5, 4), "reassess")

    case = fresh(case)
    assert case.stage == Stage.NEEDS
    assessments = db.session.scalars(select(NeedsAssessment).where(NeedsAssessment.case_id == case.id)
                                     .order_by(NeedsAssessment.sequence)).all()
    assert [(a.id == earlier_id, a.sequence, a.current) for a in assessments] == [(True, 1, False), (False, 2, True)]
    now = cases.current_assessment(case)
    assert [(t.theme, t.level, t.narrative) for t in now.themes] == earlier_themes
    assert [(g.position, g.goal_type, g.text, g.measure) for g in now.goals] == earlier_goals
    assert now.support_need == "high" and now.consent_to_contact_suppliers
    # The earlier assessment and the scores given against its goals are kept.
    assert len(db.session.get(NeedsAssessment, earlier_id).goals) == len(earlier_goals)
    held = [f for f in followup.follow_ups(case) if f.held_on]
    assert [s.goal_text for s in held[0].goal_scores] == [g[2] for g in earlier_goals]
    assert open_due(case) == []                           # the new terms' approval schedules the next
    assert open_due(case, "supplier_review") == [date(2027, 2, 2)]


def test_after_a_reassessment_the_approved_terms_schedule_the_next_follow_up(app, staff):
    case = running_case(app, staff, STARTED)
    record(case, staff, date(2026, 5, 4), "reassess")
    # Stages 1 to 3 are walked by their own tests (and stall at the second choice, see the xfail below);
    # the new terms start from the version in force.
    place_in_stage(case, Stage.TERMS)
    second = contracts.new_version(case, staff.procurement)
    db.session.commit()
    contracts.submit(case, second, staff.procurement)
    db.session.commit()
    contracts.review(case, second, staff.economy)
    db.session.commit()
    with time_machine.travel(datetime(2026, 6, 10, 10, 0, tzinfo=UTC), tick=False), app.test_request_context():
        contracts.approve(case, second, staff.manager)
        db.session.commit()

    case = fresh(case)
    assert case.stage == Stage.FOLLOW_UP
    assert open_due(case) == [date(2026, 9, 10)]                  # 3 months after the approval
    assert open_due(case, "supplier_review") == [date(2027, 2, 2)]   # kept, not doubled


def test_a_reassessed_case_can_choose_a_supplier_again(app, staff):
    case = running_case(app, staff, STARTED)
    record(case, staff, date(2026, 5, 4), "reassess")
    needs.save_assessment(case, cases.current_assessment(case), version=None, actor=staff.caseworker,
                          data=needs.AssessmentInput(
                              support_need="high", expected_duration="2 år", wishes="", special_conditions="",
                              required_hours_per_week=None, consent_to_contact_suppliers=True,
                              consent_date=date(2026, 11, 1), child_investigation_date=None,
                              decision_date=date(2026, 5, 10), decided_by=staff.caseworker,
                              themes={"practical_tasks": (2, "")},
                              goals=[needs.GoalInput("develop", "Tager selv bussen til arbejde", "")]))
    transitions.take_step(case, Event.COMPLETE_ASSESSMENT, staff.caseworker)
    transitions.take_step(case, Event.START_DIALOGUE, staff.caseworker)
    db.session.commit()
    # The earlier round's choice is reopened: this round chooses again (the earlier replies may be chosen).
    assert [(d.event, d.allowed) for d in transitions.steps_for(case, staff.procurement)] == [
        (Event.CHOOSE_SUPPLIER, False)]
    dialogue.choose(case, dialogue.inquiries(case)[0], staff.procurement, "Samme sted passer stadig",
                    date(2026, 5, 20))
    assert case.stage == Stage.TERMS
    # The new terms are version 2, approved through the same four eyes; the placement runs on in follow-up.
    second = contracts.draft_from_choice(case, staff.procurement, date(2026, 5, 20))
    assert second.number == 2
    contracts.submit(case, second, staff.procurement)
    contracts.review(case, second, staff.economy)
    with app.test_request_context():
        contracts.approve(case, second, staff.manager)
    db.session.commit()
    assert case.stage == Stage.FOLLOW_UP
    assert [v.status for v in contracts.versions(case)] == ["superseded", "approved"]
    assert len([f for f in followup.follow_ups(case) if f.is_open and f.kind == "individual"]) == 1


def test_a_running_placement_is_ended_not_cancelled(app, staff):
    case = running_case(app, staff, STARTED)
    record(case, staff, date(2026, 5, 4), "change_within_frame")
    refused(case, lambda: transitions.take_step(case, Event.CANCEL, staff.caseworker, reason="Fejlregistrering"))


def test_end_moves_the_case_to_ending_with_notice_and_cost_and_cancels_open_follow_ups(app, staff):
    case = ended_case(app, staff, end_date=date(2026, 7, 31))

    case = fresh(case)
    assert case.stage == Stage.ENDING
    ending = followup.ending(case)
    assert (ending.end_date, ending.reason, ending.notice_months, ending.notice_date) == (
        date(2026, 7, 31), "Borgeren flytter til egen bolig", 3, date(2026, 4, 30))
    # 2 February to 31 July, both included: 180 days at 2.450,50.
    assert ending.computed_cost == Decimal("441090.00") == CHOSEN_PRICE * 180
    assert ending.computed_cost == followup.cost_between(case, STARTED, date(2026, 7, 31))
    assert (ending.final_cost, ending.recorded_by_id, ending.complete) == (None, staff.caseworker.id, False)
    assert plan(case) == [("individual", date(2026, 5, 2), date(2026, 5, 4), None),
                          ("supplier_review", date(2027, 2, 2), None, date(2026, 5, 4))]


def test_end_reads_the_notice_from_the_contract(app, staff):
    case = build_terms_case(app, staff)
    contract = contracts.draft_from_choice(case, staff.procurement, STARTED)
    contracts.save_terms(case, contract, staff.procurement, None, terms_of(contract, notice_months=6))
    db.session.commit()
    contracts.submit(case, contract, staff.procurement)
    db.session.commit()
    contracts.review(case, contract, staff.economy)
    db.session.commit()
    with app.test_request_context():
        contracts.approve(case, contract, staff.manager)
    db.session.commit()
    followup.start_delivery(case, staff.caseworker, STARTED, STARTED)
    db.session.commit()
    record(case, staff, date(2026, 5, 4), "end", end_date=date(2026, 8, 31), end_reason="Flytter")

    ending = followup.ending(fresh(case))
    assert (ending.notice_months, ending.notice_date) == (6, date(2026, 2, 28))


# --- 5. The money over a period --------------------------------------------------------------------------------

def test_cost_between_counts_days_at_the_contract_s_day_price(app, staff):
    case = running_case(app, staff, STARTED)

    assert followup.cost_between(case, date(2026, 3, 1), date(2026, 3, 10)) == Decimal("24505.00")
    assert followup.cost_between(case, date(2026, 3, 1), date(2026, 3, 1)) == Decimal("2450.50")
    assert followup.cost_between(case, date(2027, 1, 1), date(2027, 12, 31)) == ANNUAL
    assert followup.cost_between(case, date(2028, 1, 1), date(2028, 12, 31)) == ANNUAL + CHOSEN_PRICE  # 366 days
    assert followup.cost_between(case, date(2026, 3, 1), date(2026, 3, 10)).as_tuple().exponent == -2


def test_cost_between_counts_nothing_before_the_start_and_nothing_for_an_empty_period(app, staff):
    case = running_case(app, staff, STARTED)

    assert followup.cost_between(case, date(2026, 1, 28), date(2026, 2, 6)) == CHOSEN_PRICE * 5
    assert followup.cost_between(case, date(2026, 1, 1), date(2026, 1, 31)) == Decimal("0.00")
    assert followup.cost_between(case, date(2026, 3, 10), date(2026, 3, 9)) == Decimal("0.00")
    assert followup.cost_between(case, date(2026, 3, 10), date(2026, 1, 1)) == Decimal("0.00")


def test_cost_between_is_nothing_without_an_approved_contract(app, staff):
    case = build_terms_case(app, staff)
    submitted(case, staff)
    assert followup.cost_between(case, date(2026, 3, 1), date(2026, 3, 10)) == Decimal("0.00")


def test_a_change_within_frame_counts_its_new_price_from_the_day_it_was_approved(app, staff):
    case = running_case(app, staff, date(2026, 1, 1), today=date(2026, 1, 5))
    record(case, staff, date(2026, 4, 1), "change_within_frame")
    second = contracts.current(case)
    contracts.save_terms(case, second, staff.procurement, None, terms_of(second, lines=[line("døgn", "2300.00")]))
    contracts.submit(case, second, staff.procurement)
    db.session.commit()
    contracts.review(case, second, staff.economy)
    db.session.commit()
    # 23:30 UTC on 30 April is 1 May in Copenhagen: the new price counts from 1 May.
    with time_machine.travel(datetime(2026, 4, 30, 22, 30, tzinfo=UTC), tick=False), app.test_request_context():
        contracts.approve(case, second, staff.manager)
        db.session.commit()

    case = fresh(case)
    assert clock.local_date(contracts.in_force(case).approved_at) == date(2026, 5, 1)
    # 1 January to 30 April (120 days) at 2.450,50, then 1 May to 31 December (245 days) at 2.300,00.
    assert followup.cost_between(case, date(2026, 1, 1), date(2026, 12, 31)) == Decimal("857560.00") == (
        CHOSEN_PRICE * 120 + NEW_PRICE * 245)
    assert followup.cost_between(case, date(2026, 4, 30), date(2026, 5, 1)) == CHOSEN_PRICE + NEW_PRICE
    assert followup.cost_between(case, date(2026, 6, 1), date(2026, 6, 30)) == NEW_PRICE * 30
    assert followup.cost_between(case, date(2026, 2, 1), date(2026, 2, 28)) == CHOSEN_PRICE * 28


@pytest.mark.parametrize(("end_date", "months", "notice"), [
    (date(2026, 7, 31), 3, date(2026, 4, 30)),
    (date(2026, 5, 31), 3, date(2026, 2, 28)),
    (date(2026, 6, 15), 0, date(2026, 6, 15)),
    (date(2027, 1, 10), 1, date(2026, 12, 10)),
])
def test_notice_date_is_the_end_date_less_the_notice_months(end_date, months, notice):
    assert followup.notice_date(end_date, months) == notice


# --- 6. The supplier and money side ----------------------------------------------------------------------------

def supplier_input(**changes) -> followup.SupplierSideInput:
    values = {"reports_received": True, "quality": "acceptable", "deviations": " Sen statusrapport ",
              "incidents": "", "period_from": date(2026, 3, 1), "period_to": date(2026, 3, 31),
              "invoiced": Decimal("76000.00")}
    values.update(changes)
    return followup.SupplierSideInput(**values)


@pytest.mark.parametrize("login", ["procurement", "economy"])
def test_procurement_and_economy_on_the_case_record_the_supplier_and_money_side(app, staff, login):
    case = running_case(app, staff, STARTED)
    due = followup.next_open(case)
    followup.record_supplier_side(case, due, staff[login], supplier_input(), date(2026, 4, 2))
    db.session.commit()

    due = db.session.get(FollowUp, due.id)
    assert (due.reports_received, due.quality, due.deviations, due.incidents) == (
        True, "acceptable", "Sen statusrapport", None)
    assert (due.period_from, due.period_to, due.invoiced) == (date(2026, 3, 1), date(2026, 3, 31), Decimal("76000"))
    assert due.contract_amount == Decimal("75965.50") == CHOSEN_PRICE * 31
    assert due.difference == Decimal("34.50")
    assert (due.supplier_recorded_by_id, due.held_on) == (staff[login].id, None)   # the citizen's side is still due
    event = events(case, "followup.supplier_side")[-1]
    assert (event.details["invoiced"], event.details["contract_amount"]) == ("76000.00", "75965.50")


def test_an_invoice_below_the_contract_gives_a_negative_difference(app, staff):
    case = running_case(app, staff, STARTED)
    due = followup.next_open(case)
    followup.record_supplier_side(case, due, staff.economy, supplier_input(invoiced=Decimal("70000.01")),
                                  date(2026, 4, 2))
    db.session.commit()
    assert db.session.get(FollowUp, due.id).difference == Decimal("-5965.49")


@pytest.mark.parametrize("login", ["caseworker", "manager", "procurement_other", "economy_other", "admin"])
def test_others_do_not_record_the_supplier_side(app, staff, login):
    case = running_case(app, staff, STARTED)
    due = followup.next_open(case)
    refused(case, lambda: followup.record_supplier_side(case, due, staff[login], supplier_input(), date(2026, 4, 2)))


BAD_SUPPLIER_SIDES = {
    "quality not from the list": ({"quality": "excellent"}, "quality"),
    "period without amount": ({"invoiced": None}, "period_from"),
    "amount without period": ({"period_from": None, "period_to": None}, "period_from"),
    "period without end": ({"period_to": None}, "period_from"),
    "period ends before it begins": ({"period_from": date(2026, 3, 31), "period_to": date(2026, 3, 1)}, "period_to"),
    "period before the start": ({"period_from": date(2026, 2, 1)}, "period_from"),
    "period ends in the future": ({"period_to": date(2026, 4, 3)}, "period_to"),
    "negative amount": ({"invoiced": Decimal("-0.01")}, "invoiced"),
}


@pytest.mark.parametrize(("change", "field"), BAD_SUPPLIER_SIDES.values(), ids=BAD_SUPPLIER_SIDES.keys())
def test_a_bad_supplier_side_is_refused_and_changes_nothing(app, staff, change, field):
    case = running_case(app, staff, STARTED)
    due = followup.next_open(case)
    refused(case, lambda: followup.record_supplier_side(case, due, staff.procurement, supplier_input(**change),
                                                        date(2026, 4, 2)), field)


def test_the_supplier_side_without_money_leaves_the_amounts_empty(app, staff):
    case = running_case(app, staff, STARTED)
    due = followup.next_open(case)
    followup.record_supplier_side(case, due, staff.procurement,
                                  supplier_input(period_from=None, period_to=None, invoiced=None), date(2026, 4, 2))
    db.session.commit()
    due = db.session.get(FollowUp, due.id)
    assert (due.invoiced, due.contract_amount, due.difference) == (None, None, None)


@pytest.mark.parametrize(("held_on", "field"), [
    (None, "held_on"), (date(2027, 2, 21), "held_on"), (date(2026, 2, 1), "held_on")],
    ids=["no date", "future", "before the start"])
def test_a_supplier_review_needs_the_day_it_was_held(app, staff, held_on, field):
    case = running_case(app, staff, STARTED)
    review = followup.next_open(case, "supplier_review")
    refused(case, lambda: followup.record_supplier_side(case, review, staff.procurement,
                                                        supplier_input(held_on=held_on), date(2027, 2, 20)), field)


def test_recording_a_supplier_review_again_does_not_schedule_another(app, staff):
    case = running_case(app, staff, STARTED)
    review = followup.next_open(case, "supplier_review")
    today = date(2027, 2, 20)
    followup.record_supplier_side(case, review, staff.procurement, supplier_input(held_on=date(2027, 2, 15)), today)
    db.session.commit()
    # A correction of the supplier side needs no date: the review stays held on its day.
    followup.record_supplier_side(case, review, staff.economy, supplier_input(quality="poor"), today)
    db.session.commit()

    review = db.session.get(FollowUp, review.id)
    assert (review.held_on, review.quality, review.supplier_recorded_by_id) == (
        date(2027, 2, 15), "poor", staff.economy.id)
    assert open_due(case, "supplier_review") == [date(2028, 2, 15)]
    assert [e.details["first_time"] for e in events(case, "followup.supplier_side")] == [True, False]


def test_a_follow_up_of_another_case_or_a_cancelled_one_is_refused(app, staff):
    case = running_case(app, staff, STARTED)
    ended = ended_case(app, staff)
    cancelled = next(f for f in followup.follow_ups(ended) if f.cancelled_on)
    refused(case, lambda: followup.record_supplier_side(case, cancelled, staff.procurement, supplier_input(),
                                                        date(2026, 5, 5)))
    refused(ended, lambda: followup.record_supplier_side(ended, cancelled, staff.procurement, supplier_input(),
                                                         date(2026, 5, 5)))


def test_a_stale_supplier_side_is_refused(app, staff):
    case = running_case(app, staff, STARTED)
    due = followup.next_open(case)
    refused(case, lambda: followup.record_supplier_side(case, due, staff.procurement, supplier_input(),
                                                        date(2026, 4, 2), version=due.version + 1), error=StaleEdit)


# --- 7. Due states ---------------------------------------------------------------------------------------------

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(("days_ahead", "expected"), [
    (400, "scheduled"), (15, "scheduled"), (14, "soon"), (13, "soon"), (1, "soon"), (0, "due"), (-1, "overdue"),
    (-400, "overdue")])
def test_due_states_around_the_boundaries(db, days_ahead, expected):
    follow_up = FollowUp(kind="individual", due_date=TODAY + timedelta(days=days_ahead))
    assert followup.state_of(follow_up, TODAY) == expected


@pytest.mark.parametrize("days_ahead", [30, 0, -30])
def test_a_held_follow_up_is_done_and_a_cancelled_one_cancelled_whenever_it_was_due(db, days_ahead):
    due = TODAY + timedelta(days=days_ahead)
    assert followup.state_of(FollowUp(due_date=due, held_on=TODAY - timedelta(days=3)), TODAY) == "done"
    assert followup.state_of(FollowUp(due_date=due, cancelled_on=TODAY - timedelta(days=3)), TODAY) == "cancelled"


def test_the_soon_due_setting_moves_the_boundary(db):
    settings.change("followup_soon_days", 21)
    db.session.commit()
    assert [followup.state_of(FollowUp(due_date=TODAY + timedelta(days=n)), TODAY) for n in (22, 21, 15, 0)] == [
        "scheduled", "soon", "soon", "due"]
    assert followup.state_of(FollowUp(due_date=TODAY + timedelta(days=21)), TODAY, soon_days=7) == "scheduled"


def test_states_of_a_running_case_s_schedule(app, staff):
    case = running_case(app, staff, STARTED)
    record(case, staff, date(2026, 5, 4))
    by_kind = {(f.kind, f.is_open): f for f in followup.follow_ups(case)}
    states = {key: followup.state_of(f, date(2027, 4, 25)) for key, f in by_kind.items()}
    assert states == {("individual", False): "done", ("individual", True): "soon",
                      ("supplier_review", True): "overdue"}


@pytest.mark.parametrize(("moment", "copenhagen"), [
    (datetime(2026, 12, 31, 22, 59, tzinfo=UTC), date(2026, 12, 31)),   # 23:59 in Copenhagen (CET)
    (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), date(2027, 1, 1)),
    (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), date(2027, 1, 1)),
    (datetime(2026, 6, 30, 22, 30, tzinfo=UTC), date(2026, 7, 1)),      # summer time (CEST)
    (datetime(2026, 6, 30, 21, 59, tzinfo=UTC), date(2026, 6, 30)),
])
def test_today_is_the_day_in_copenhagen_not_in_utc(moment, copenhagen):
    with time_machine.travel(moment, tick=False):
        assert datetime.now(UTC).date() == moment.date()
        assert clock.today() == copenhagen


def test_a_follow_up_due_on_new_year_s_day_is_due_at_23_30_utc_on_new_year_s_eve(db):
    follow_up = FollowUp(due_date=date(2027, 1, 1))
    with time_machine.travel(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), tick=False):
        assert followup.state_of(follow_up, clock.today()) == "due"
    with time_machine.travel(datetime(2026, 12, 31, 22, 30, tzinfo=UTC), tick=False):
        assert followup.state_of(follow_up, clock.today()) == "soon"


# --- 8. Ending and closing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("login", ["caseworker", "economy"])
def test_the_unit_s_caseworker_and_economy_on_the_case_record_the_ending(app, staff, login):
    case = ended_case(app, staff)
    found = followup.ending(case)
    followup.save_ending(case, staff[login], ending_input(final_cost=Decimal("440000.00"),
                                                          notice_given_on=date(2026, 4, 20)), version=found.version)
    db.session.commit()

    found = followup.ending(fresh(case))
    assert (found.final_cost, found.notice_given_on, found.complete) == (Decimal("440000.00"), date(2026, 4, 20), True)
    assert (found.notice_date, found.computed_cost) == (date(2026, 4, 30), Decimal("441090.00"))   # unchanged
    saved = events(case, "ending.saved")
    assert [e.actor_id for e in saved] == [staff[login].id]
    assert saved[0].details["changes"]["final_cost"][1] == "440000.00"


def test_a_new_end_date_recomputes_the_notice_date_and_the_cost(app, staff):
    case = ended_case(app, staff)
    followup.save_ending(case, staff.caseworker, ending_input(end_date=date(2026, 8, 31)))
    db.session.commit()

    found = followup.ending(fresh(case))
    assert found.end_date == date(2026, 8, 31)
    assert found.notice_date == date(2026, 5, 31)
    assert found.computed_cost == CHOSEN_PRICE * 211 == Decimal("517055.50")   # 2 February to 31 August


@pytest.mark.parametrize("login", ["procurement", "caseworker_other", "economy_other", "manager", "admin"])
def test_others_do_not_record_the_ending(app, staff, login):
    case = ended_case(app, staff)
    refused(case, lambda: followup.save_ending(case, staff[login], ending_input()))


BAD_ENDINGS = {
    "no end date": ({"end_date": None}, "end_date"),
    "end before the start": ({"end_date": date(2026, 2, 1)}, "end_date"),
    "no reason": ({"reason": "  "}, "reason"),
    "negative cost": ({"final_cost": Decimal("-1.00")}, "final_cost"),
}


@pytest.mark.parametrize(("change", "field"), BAD_ENDINGS.values(), ids=BAD_ENDINGS.keys())
def test_a_bad_ending_is_refused_and_changes_nothing(app, staff, change, field):
    case = ended_case(app, staff)
    refused(case, lambda: followup.save_ending(case, staff.caseworker, ending_input(**change)), field)


def test_the_ending_is_refused_without_an_ending_stage_or_when_stale(app, staff):
    running = running_case(app, staff, STARTED)
    refused(running, lambda: followup.save_ending(running, staff.caseworker, ending_input()))
    case = ended_case(app, staff)
    found = followup.ending(case)
    refused(case, lambda: followup.save_ending(case, staff.caseworker, ending_input(), version=found.version + 1),
            error=StaleEdit)


def test_closing_needs_the_end_date_reason_and_final_cost(app, staff):
    case = ended_case(app, staff)
    with force_locale("en"):
        error = refused(case, lambda: followup.close(case, staff.caseworker))
    assert error.message == "Record the end date, the reason and the final cost."


@pytest.mark.parametrize("login", ["procurement", "manager", "caseworker_other"])
def test_others_do_not_close_the_case(app, staff, login):
    case = ended_case(app, staff)
    followup.save_ending(case, staff.caseworker, ending_input())
    db.session.commit()
    refused(case, lambda: followup.close(case, staff[login]))


@pytest.mark.parametrize("login", ["caseworker", "economy"])
def test_a_closed_case_leaves_the_active_lists(app, staff, login):
    case = ended_case(app, staff)
    followup.save_ending(case, staff.caseworker, ending_input())
    db.session.commit()
    active = case_list.CaseFilters(scope="unit", status="active")
    assert case.id in [row.id for row in case_list.list_cases(staff.caseworker, active).rows]

    followup.close(case, staff[login], version=case.version)
    db.session.commit()

    case = fresh(case)
    assert case.stage == Stage.CLOSED and case.closed_at is not None and not case.is_open
    assert case.id not in [row.id for row in case_list.list_cases(staff.caseworker, active).rows]
    closed = case_list.CaseFilters(scope="unit", status="closed")
    assert case.id in [row.id for row in case_list.list_cases(staff.caseworker, closed).rows]
    assert events(case, "case.step")[-1].details == {"event": "close", "from": "ending", "to": "closed"}
    # Nothing more is recorded on a closed case.
    refused(case, lambda: followup.save_ending(case, staff.caseworker, ending_input(reason="Ny grund")))
    refused(case, lambda: followup.close(case, staff.caseworker))


