"""Cases with an approved contract or a running placement, built through the same services the pages use.

`approved_case` walks a case through assessment, dialogue, terms and approval (tests/support/contracts.py);
`running_case` records the start of delivery on `started_on` as well.
"""
from __future__ import annotations

from datetime import date

from tests.support.contracts import build_terms_case
from workflow.extensions import db
from workflow.models import PurchaseCase
from workflow.process import Stage
from workflow.services import contracts, followup


def unrendered_summary(case, contract) -> bytes:
    """Approval archives the contract summary PDF; tests about what follows pass this instead of rendering it
    (tests/test_contracts.py renders and checks it)."""
    return b"%PDF-1.7 contract summary not rendered in these tests"


def approved_case(app, staff, drafted_on: date, **build) -> PurchaseCase:
    """A case in stage 6: its contract drafted on `drafted_on`, submitted, reviewed and approved."""
    case = build_terms_case(app, staff, **build)
    contract = contracts.draft_from_choice(case, staff.procurement, drafted_on)
    contracts.submit(case, contract, staff.procurement)
    contracts.review(case, contract, staff.economy)
    contracts.approve(case, contract, staff.manager, render=unrendered_summary)
    db.session.commit()
    assert case.stage == Stage.DELIVERY
    return case


def running_case(app, staff, started_on: date, *, today: date | None = None, **build) -> PurchaseCase:
    case = approved_case(app, staff, started_on, **build)
    followup.start_delivery(case, staff.caseworker, started_on, today or started_on)
    db.session.commit()
    assert case.stage == Stage.FOLLOW_UP
    return case


def score_all(case: PurchaseCase, score: str = "partly") -> list[followup.GoalScoreInput]:
    from workflow.services.cases import current_assessment

    return [followup.GoalScoreInput(goal.id, score) for goal in current_assessment(case).goals]


def follow_up_input(case: PurchaseCase, held_on: date, outcome: str = "continue", **changes) -> followup.FollowUpInput:
    values = {"held_on": held_on, "participants": "Borgeren, kontaktperson, sagsbehandler",
              "citizen_view": "Er glad for stedet.", "outcome": outcome, "scores": score_all(case)}
    values.update(changes)
    return followup.FollowUpInput(**values)
