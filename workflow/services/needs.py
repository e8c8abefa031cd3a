"""Recording the needs assessment and decision (stage 1)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy.orm.attributes import flag_modified

from workflow.extensions import db
from workflow.models import Goal, NeedsAssessment, PurchaseCase, Role, ThemeAssessment, User
from workflow.process import Stage
from workflow.services import audit
from workflow.services.cases import check_version
from workflow.services.errors import ServiceError
from workflow.vum import GOAL_TYPE_LABELS, SUPPORT_NEED_LABELS, THEME_LABELS


@dataclass
class GoalInput:
    goal_type: str
    text: str
    measure: str = ""


@dataclass
class AssessmentInput:
    support_need: str | None
    expected_duration: str
    wishes: str
    special_conditions: str
    required_hours_per_week: int | None
    consent_to_contact_suppliers: bool
    consent_date: date | None
    child_investigation_date: date | None
    decision_date: date | None
    decided_by: User | None
    themes: dict[str, tuple[int | None, str]]   # code → (level or None, narrative)
    goals: list[GoalInput]


def _validate(case: PurchaseCase, data: AssessmentInput) -> None:
    if data.support_need is not None and data.support_need not in SUPPORT_NEED_LABELS:
        raise ServiceError(_("Choose a support need level from the list."), "support_need")
    for code, (level, _narrative) in data.themes.items():
        if code not in THEME_LABELS or (level is not None and not 0 <= level <= 4):
            raise ServiceError(_("Functional levels go from 0 to 4, or 'not assessed'."))
    for goal in data.goals:
        if goal.goal_type not in GOAL_TYPE_LABELS:
            raise ServiceError(_("Choose a goal type for every goal."))
        if not goal.text.strip():
            raise ServiceError(_("Every goal needs a text."))
    if data.decided_by is not None and (
            data.decided_by.role not in (Role.CASEWORKER, Role.MANAGER) or data.decided_by.unit_id != case.unit_id):
        raise ServiceError(_("The decision is made by a caseworker or manager of the case's unit."), "decided_by_id")
    if data.consent_to_contact_suppliers and data.consent_date is None:
        raise ServiceError(_("Give the date the consent was given."), "consent_date")
    if data.required_hours_per_week is not None and not 0 <= data.required_hours_per_week <= 168:
        raise ServiceError(_("Hours per week go from 0 to 168."), "required_hours_per_week")


def save_assessment(case: PurchaseCase, assessment: NeedsAssessment, *, version: int | None,
                    data: AssessmentInput, actor: User | None = None) -> dict:
    """Store the assessment; editable only while the case is in the needs stage."""
    check_version(assessment, version)
    if case.stage != Stage.NEEDS:
        raise ServiceError(_("The needs assessment can only be changed while the case is in the needs stage."))
    _validate(case, data)
    changed = audit.changes(assessment, {
        "support_need": data.support_need,
        "expected_duration": data.expected_duration.strip() or None,
        "wishes": data.wishes.strip() or None,
        "special_conditions": data.special_conditions.strip() or None,
        "required_hours_per_week": data.required_hours_per_week,
        "consent_to_contact_suppliers": data.consent_to_contact_suppliers,
        "consent_date": data.consent_date,
        "child_investigation_date": data.child_investigation_date,
        "decision_date": data.decision_date,
        "decided_by_id": data.decided_by.id if data.decided_by else None,
    })
    for code in THEME_LABELS:
        level, narrative = data.themes.get(code, (None, ""))
        narrative = narrative.strip() or None
        theme = assessment.theme(code)
        if theme is None:
            if level is None and narrative is None:
                continue
            theme = ThemeAssessment(theme=code)
            assessment.themes.append(theme)
        before = (theme.level, theme.narrative)
        theme.level, theme.narrative = level, narrative
        if before != (level, narrative):
            changed[f"theme:{code}"] = [before[0], level]
    old_goals = [(g.goal_type, g.text, g.measure or "") for g in assessment.goals]
    new_goals = [(g.goal_type, g.text.strip(), g.measure.strip()) for g in data.goals]
    if old_goals != new_goals:
        assessment.goals.clear()
        db.session.flush()
        for position, (goal_type, text, measure) in enumerate(new_goals):
            assessment.goals.append(Goal(position=position, goal_type=goal_type, text=text, measure=measure or None))
        changed["goals"] = [len(old_goals), len(new_goals)]
    if changed:
        flag_modified(assessment, "support_need")  # themes and goals count too: move the version on
        db.session.flush()
        audit.record("needs.saved", assessment, {"changes": changed}, case=case, actor=actor)
    return changed


def start_reassessment(case: PurchaseCase) -> NeedsAssessment:
    """Revisitation: a new current assessment, pre-filled from the one before it."""
    previous = db.session.scalar(db.select(NeedsAssessment).where(
        NeedsAssessment.case_id == case.id, NeedsAssessment.current.is_(True)))
    previous.current = False
    fresh = NeedsAssessment(
        case_id=case.id, sequence=previous.sequence + 1, current=True, support_need=previous.support_need,
        expected_duration=previous.expected_duration, wishes=previous.wishes,
        special_conditions=previous.special_conditions, required_hours_per_week=previous.required_hours_per_week,
        consent_to_contact_suppliers=previous.consent_to_contact_suppliers, consent_date=previous.consent_date,
        child_investigation_date=previous.child_investigation_date,
    )
    fresh.themes = [ThemeAssessment(theme=t.theme, level=t.level, narrative=t.narrative) for t in previous.themes]
    fresh.goals = [Goal(position=g.position, goal_type=g.goal_type, text=g.text, measure=g.measure)
                   for g in previous.goals]
    db.session.add(fresh)
    return fresh
