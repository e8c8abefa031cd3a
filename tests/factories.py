"""Building cases for tests through the same services the pages use."""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from workflow.extensions import db
from workflow.models import PurchaseCase, User
from workflow.process import Event
from workflow.services import cases, needs, transitions

_serials = itertools.count(1000)


def next_cpr(year: int = 1980) -> str:
    serial = next(_serials)
    return f"0101{year % 100:02d}{serial:04d}"


def make_case(owner: User, *, legal_basis: str = "SEL-108", acute: bool = False, procurement: User | None = None,
              economy: User | None = None, name: str = "Jens Hansen", cpr: str | None = None,
              budget: Decimal = Decimal("900000")) -> PurchaseCase:
    case = cases.open_case(
        owner, cpr_text=cpr or next_cpr(), citizen_name=name, home_municipality="101", legal_basis=legal_basis,
        target_group="intellectual_disability", acute=acute, desired_start=date(2027, 3, 1), budget_frame=budget,
        procurement=procurement, economy=economy)
    db.session.commit()
    return case


def assess(case: PurchaseCase, decided_by: User, *, child_investigation: date | None = None) -> None:
    assessment = cases.current_assessment(case)
    needs.save_assessment(case, assessment, version=None, actor=decided_by, data=needs.AssessmentInput(
        support_need="high", expected_duration="2 år", wishes="Vil bo tæt på sin søster",
        special_conditions="", required_hours_per_week=None, consent_to_contact_suppliers=True,
        consent_date=date(2026, 11, 1), child_investigation_date=child_investigation,
        decision_date=date(2026, 11, 2), decided_by=decided_by,
        themes={"practical_tasks": (3, "Skal guides i indkøb"), "self_care": (2, "")},
        goals=[needs.GoalInput("develop", "Handler selv ind en gang om ugen", "Ugentlig status")]))
    db.session.commit()


def to_market_scan(case: PurchaseCase, owner: User) -> None:
    assess(case, owner)
    transitions.take_step(case, Event.COMPLETE_ASSESSMENT, owner)
    db.session.commit()
