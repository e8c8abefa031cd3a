"""Many cases written fast for benchmarks, with plain multi-row inserts (not through the services)."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from workflow.demo.casework import GOALS, NARRATIVES, _case_input
from workflow.demo.people import FIRST_NAMES, LAST_NAMES, CprFactory
from workflow.extensions import db
from workflow.models import Citizen, Goal, NeedsAssessment, PurchaseCase, Role, StageVisit, ThemeAssessment, User
from workflow.municipalities import MUNICIPALITIES
from workflow.process import PROCESS_STAGES, Stage
from workflow.vum import THEMES


def bulk_cases(count: int, seed: int = 7, batch: int = 5000) -> int:
    """Insert many cases with plain multi-row inserts (benchmarks); returns how many were written."""
    rng = random.Random(seed)
    cprs = CprFactory(rng)
    existing = set(db.session.scalars(select(Citizen.cpr)))
    cprs.used |= existing
    caseworkers = db.session.execute(
        select(User.id, User.unit_id).where(User.role == Role.CASEWORKER, User.active.is_(True))).all()
    procurement = db.session.scalars(select(User.id).where(User.role == Role.PROCUREMENT)).all()
    economy = db.session.scalars(select(User.id).where(User.role == Role.ECONOMY)).all()
    if not caseworkers:
        raise RuntimeError("no caseworkers to own the cases")
    next_citizen = (db.session.scalar(select(db.func.max(Citizen.id))) or 0) + 1
    next_case = (db.session.scalar(select(db.func.max(PurchaseCase.id))) or 0) + 1
    next_assessment = (db.session.scalar(select(db.func.max(NeedsAssessment.id))) or 0) + 1
    stages = [str(stage) for stage in (*PROCESS_STAGES, Stage.CLOSED, Stage.CANCELLED)]
    municipalities = [m.code for m in MUNICIPALITIES]
    theme_codes = [code for code, _label, _group in THEMES]
    now = datetime.now(UTC)
    written = 0
    while written < count:
        size = min(batch, count - written)
        citizens, purchases, assessments, themes, goals, visits = [], [], [], [], [], []
        for _ in range(size):
            child = rng.random() < 0.25
            basis, group, budget = _case_input(rng, child)
            owner_id, unit_id = rng.choice(caseworkers)
            created = now - timedelta(days=rng.randint(0, 5 * 365), minutes=rng.randint(0, 1440))
            stage = rng.choice(stages)
            citizens.append({"id": next_citizen, "cpr": cprs.child() if child else cprs.adult(),
                             "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                             "home_municipality": rng.choice(municipalities)})
            purchases.append({
                "id": next_case, "number": f"SK-{created.year}-{next_case:05d}", "citizen_id": next_citizen,
                "legal_basis": basis.code, "target_group": group, "unit_id": unit_id, "owner_id": owner_id,
                "procurement_id": rng.choice(procurement) if procurement else None,
                "economy_id": rng.choice(economy) if economy and rng.random() < 0.7 else None,
                "acute": rng.random() < 0.1, "desired_start": (created + timedelta(days=60)).date(),
                "budget_frame": budget, "stage": stage, "stage_entered_at": created,  # Money stores øre itself
                "created_at": created, "changed_at": created + timedelta(days=rng.randint(0, 30)), "version": 1,
            })
            assessments.append({"id": next_assessment, "case_id": next_case, "sequence": 1, "current": True,
                                "support_need": "high", "consent_to_contact_suppliers": True,
                                "decision_date": created.date(), "decided_by_id": owner_id, "created_at": created,
                                "version": 1})
            for code in rng.sample(theme_codes, 4):
                themes.append({"assessment_id": next_assessment, "theme": code, "level": rng.randint(1, 4),
                               "narrative": rng.choice(NARRATIVES)})
            for position, (goal_type, text, measure) in enumerate(rng.sample(GOALS, 2)):
                goals.append({"assessment_id": next_assessment, "position": position, "goal_type": goal_type,
                              "text": text, "measure": measure})
            visits.append({"case_id": next_case, "stage": stage, "entered_at": created})
            next_citizen, next_case, next_assessment = next_citizen + 1, next_case + 1, next_assessment + 1
        for model, rows in ((Citizen, citizens), (PurchaseCase, purchases), (NeedsAssessment, assessments),
                            (ThemeAssessment, themes), (Goal, goals), (StageVisit, visits)):
            db.session.execute(insert(model.__table__), rows)
        written += size
    _reset_sequences()
    return written


def _reset_sequences() -> None:
    """After inserts with explicit ids, PostgreSQL's sequences must move past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("citizens", "purchase_cases", "needs_assessments"):
        db.session.execute(db.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"  # noqa: S608 - fixed names
        ))
