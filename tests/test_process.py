"""The process as a table: every stage × event × role, and each guard on its own."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from workflow.process import CANCELLABLE, STAGES, CaseFacts, Event, Stage, decide, next_steps, task_stages
from workflow.roles import Role

CW, PROC, ECON, MGR, ADMIN = Role.CASEWORKER, Role.PROCUREMENT, Role.ECONOMY, Role.MANAGER, Role.ADMIN

# The diagram, written out independently of the module: (stage, event) → (target, roles).
EXPECTED = {
    (Stage.NEEDS, Event.COMPLETE_ASSESSMENT): (Stage.MARKET_SCAN, {CW}),
    (Stage.MARKET_SCAN, Event.BACK_TO_ASSESSMENT): (Stage.NEEDS, {CW}),
    (Stage.MARKET_SCAN, Event.START_DIALOGUE): (Stage.DIALOGUE, {CW, PROC}),
    (Stage.DIALOGUE, Event.CHOOSE_SUPPLIER): (Stage.TERMS, {PROC}),
    (Stage.TERMS, Event.SUBMIT_TERMS): (Stage.APPROVAL, {PROC}),
    (Stage.APPROVAL, Event.REVIEW_TERMS): (Stage.APPROVAL, {PROC, ECON}),
    (Stage.APPROVAL, Event.APPROVE): (Stage.DELIVERY, {MGR}),
    (Stage.APPROVAL, Event.REJECT): (Stage.TERMS, {MGR, PROC, ECON}),
    (Stage.DELIVERY, Event.START_DELIVERY): (Stage.FOLLOW_UP, {CW, PROC}),
    (Stage.FOLLOW_UP, Event.CONTINUE): (Stage.FOLLOW_UP, {CW}),
    (Stage.FOLLOW_UP, Event.CHANGE_WITHIN_FRAME): (Stage.TERMS, {CW}),
    (Stage.FOLLOW_UP, Event.REASSESS): (Stage.NEEDS, {CW}),
    (Stage.FOLLOW_UP, Event.END): (Stage.ENDING, {CW}),
    (Stage.ENDING, Event.CLOSE): (Stage.CLOSED, {CW, ECON}),
    **{(stage, Event.CANCEL): (Stage.CANCELLED, {CW, MGR})
       for stage in (Stage.NEEDS, Stage.MARKET_SCAN, Stage.DIALOGUE, Stage.TERMS, Stage.APPROVAL)},
}

OUTCOME_OF = {Event.CONTINUE: "continue", Event.CHANGE_WITHIN_FRAME: "change_within_frame",
              Event.REASSESS: "reassess", Event.END: "end"}


def ready(role: Role, event: Event) -> CaseFacts:
    """Facts under which every guard of the event is satisfied."""
    return CaseFacts(
        actor_id=1, actor_role=role, actor_approval_limit=Decimal("2000000"), assessed_themes=3,
        support_need_set=True, goals=2, decision_recorded=True, shortlist=3, reply_chosen=True,
        terms_complete=True, annual_cost=Decimal("900000"), drafted_by_id=2, submitted_by_id=2,
        reviewed=event != Event.REVIEW_TERMS, reviewed_by_id=3, delivery_started=event == Event.START_DELIVERY,
        followup_outcome=OUTCOME_OF.get(event), ending_recorded=True, reason="Borgeren er flyttet",
    )


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("event", list(Event))
@pytest.mark.parametrize("role", list(Role))
def test_the_whole_table(stage, event, role):
    decision = decide(stage, event, ready(role, event))
    expected = EXPECTED.get((stage, event))
    if expected is not None and role in expected[1]:
        assert decision.allowed, decision.refusals
        assert decision.target == expected[0]
        assert decision.refusals == ()
    else:
        assert not decision.allowed
        assert decision.target is None
        assert decision.refusals and all(isinstance(message, str) and message for message in decision.refusals)


def test_every_stage_of_the_diagram_has_a_lead_or_supplier_and_a_number():
    numbers = [info.number for stage, info in STAGES.items() if info.number]
    assert numbers == list(range(1, 9))
    assert STAGES[Stage.DELIVERY].lead is None  # the supplier leads; the caseworker follows it up
    assert STAGES[Stage.DELIVERY].task_roles == (CW,)


def test_task_lists_by_role():
    assert task_stages(CW) == (Stage.NEEDS, Stage.MARKET_SCAN, Stage.DELIVERY, Stage.ENDING)  # follow-ups: when due
    assert task_stages(PROC) == (Stage.MARKET_SCAN, Stage.DIALOGUE, Stage.TERMS)
    assert task_stages(ECON) == (Stage.TERMS, Stage.APPROVAL, Stage.ENDING)
    assert task_stages(MGR) == (Stage.APPROVAL,)
    assert task_stages(ADMIN) == ()


def test_needs_guards_list_everything_missing():
    facts = CaseFacts(actor_id=1, actor_role=CW)
    decision = decide(Stage.NEEDS, Event.COMPLETE_ASSESSMENT, facts)
    assert not decision.allowed
    assert len(decision.refusals) == 4


@pytest.mark.parametrize("shortlist, acute, framework, warned", [
    (1, False, False, True), (2, False, False, True), (3, False, False, False),
    (1, True, False, False), (2, False, True, False),
])
def test_fewer_than_three_offers_warn_but_do_not_block(shortlist, acute, framework, warned):
    facts = CaseFacts(actor_id=1, actor_role=PROC, shortlist=shortlist, acute=acute,
                      framework_offer_shortlisted=framework)
    decision = decide(Stage.MARKET_SCAN, Event.START_DIALOGUE, facts)
    assert decision.allowed
    assert bool(decision.warnings) is warned


def test_empty_shortlist_blocks_the_dialogue():
    decision = decide(Stage.MARKET_SCAN, Event.START_DIALOGUE, CaseFacts(actor_id=1, actor_role=CW))
    assert not decision.allowed


def test_four_eyes_on_review_and_approval():
    base = replace(ready(MGR, Event.APPROVE), drafted_by_id=7, submitted_by_id=8)
    assert decide(Stage.APPROVAL, Event.APPROVE, base).allowed
    for author in (7, 8):
        refused = decide(Stage.APPROVAL, Event.APPROVE, replace(base, actor_id=author))
        assert not refused.allowed
    review = replace(ready(PROC, Event.REVIEW_TERMS), actor_id=8, drafted_by_id=7, submitted_by_id=8)
    assert not decide(Stage.APPROVAL, Event.REVIEW_TERMS, review).allowed
    assert decide(Stage.APPROVAL, Event.REVIEW_TERMS, replace(review, actor_role=ECON, actor_id=9)).allowed


@pytest.mark.parametrize("limit, cost, allowed", [
    (Decimal("500000"), Decimal("499999.99"), True),
    (Decimal("500000"), Decimal("500000.00"), True),
    (Decimal("500000"), Decimal("500000.01"), False),
    (None, Decimal("1"), False),
])
def test_approval_limit(limit, cost, allowed):
    facts = replace(ready(MGR, Event.APPROVE), actor_approval_limit=limit, annual_cost=cost)
    assert decide(Stage.APPROVAL, Event.APPROVE, facts).allowed is allowed


def test_approval_needs_review_first():
    facts = replace(ready(MGR, Event.APPROVE), reviewed=False)
    assert not decide(Stage.APPROVAL, Event.APPROVE, facts).allowed


def test_approval_of_a_running_placement_returns_to_follow_up():
    facts = replace(ready(MGR, Event.APPROVE), delivery_started=True)
    assert decide(Stage.APPROVAL, Event.APPROVE, facts).target == Stage.FOLLOW_UP


@pytest.mark.parametrize("event", [Event.CANCEL, Event.REJECT])
def test_cancel_and_reject_need_a_reason(event):
    role = MGR
    facts = replace(ready(role, event), reason="   ")
    assert not decide(Stage.APPROVAL, event, facts).allowed


@pytest.mark.parametrize("stage", CANCELLABLE)
def test_a_running_placement_cannot_be_cancelled(stage):
    facts = replace(ready(CW, Event.CANCEL), delivery_started=True)
    decision = decide(stage, Event.CANCEL, facts)
    assert not decision.allowed and "end it with a follow-up" in decision.refusals[0]


def test_follow_up_outcome_must_match_the_event():
    facts = replace(ready(CW, Event.END), followup_outcome="continue")
    assert not decide(Stage.FOLLOW_UP, Event.END, facts).allowed
    assert decide(Stage.FOLLOW_UP, Event.CONTINUE, facts).allowed


def test_next_steps_shows_only_the_roles_own_steps():
    steps = next_steps(Stage.MARKET_SCAN, CaseFacts(actor_id=1, actor_role=PROC))
    assert [step.event for step in steps] == [Event.START_DIALOGUE]
    assert not steps[0].allowed


def test_childrens_cases_need_the_investigation_date():
    facts = replace(ready(CW, Event.COMPLETE_ASSESSMENT), child_case=True)
    assert not decide(Stage.NEEDS, Event.COMPLETE_ASSESSMENT, facts).allowed
    facts = replace(facts, child_investigation_recorded=True)
    assert decide(Stage.NEEDS, Event.COMPLETE_ASSESSMENT, facts).allowed
