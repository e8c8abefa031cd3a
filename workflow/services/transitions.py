"""Moving a case through the process: gather the facts, ask process.decide(), carry it out."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update

from workflow.extensions import db
from workflow.models import Choice, PurchaseCase, StageVisit, User
from workflow.models.types import utcnow
from workflow.process import CaseFacts, Decision, Event, Stage, decide, next_steps
from workflow.roles import Role
from workflow.services import audit, shortlist
from workflow.services.cases import check_version, current_assessment
from workflow.services.errors import ServiceError


def facts_for(case: PurchaseCase, actor: User, reason: str = "", assessment=None) -> CaseFacts:
    """Everything the guards ask about this case, read from the database once."""
    from workflow.services import contracts, followup  # they take steps through this module

    assessment = assessment or current_assessment(case)
    shortlisted, framework_shortlisted = shortlist.facts(case)
    return CaseFacts(
        actor_id=actor.id,
        actor_role=Role(actor.role),
        actor_approval_limit=actor.approval_limit,
        acute=case.acute,
        assessed_themes=assessment.assessed_theme_count if assessment else 0,
        support_need_set=bool(assessment and assessment.support_need),
        goals=len(assessment.goals) if assessment else 0,
        decision_recorded=bool(assessment and assessment.decision_recorded),
        child_case=case.for_child,
        child_investigation_recorded=bool(assessment and assessment.child_investigation_date),
        shortlist=shortlisted,
        framework_offer_shortlisted=framework_shortlisted,
        reply_chosen=_has_choice(case),
        **contracts.facts(case),
        **followup.facts(case),
        reason=reason,
    )


def _has_choice(case: PurchaseCase) -> bool:
    return db.session.scalar(select(Choice.id).where(Choice.case_id == case.id)) is not None


def steps_for(case: PurchaseCase, actor: User, assessment=None) -> list[Decision]:
    """The next steps the actor may take on the case, each allowed or with what is missing."""
    if not case.can_view(actor):
        return []
    # A reason is asked for on the step's own form, so it is not "missing" on the case page.
    facts = facts_for(case, actor, reason="(asked on the form)", assessment=assessment)
    return next_steps(Stage(case.stage), facts)


def offered_to(case: PurchaseCase, actor: User, event: Event) -> bool:
    """Whether the step is the actor's to take on the case now (allowed, or with what is still missing)."""
    return any(step.event == event for step in steps_for(case, actor))


def _on_reassess(case: PurchaseCase, actor: User, reason: str) -> None:
    from workflow.services import dialogue
    from workflow.services.needs import start_reassessment
    start_reassessment(case)
    dialogue.reopen_choice(case, actor)


def _on_cancel(case: PurchaseCase, actor: User, reason: str) -> None:
    case.cancel_reason = reason.strip()
    case.closed_at = utcnow()


def _on_change_within_frame(case: PurchaseCase, actor: User, reason: str) -> None:
    from workflow.services import contracts  # contracts takes steps through this module

    contracts.new_version(case, actor)


def _on_close(case: PurchaseCase, actor: User, reason: str) -> None:
    case.closed_at = utcnow()


def _followup(name: str):
    def effect(case: PurchaseCase, actor: User, reason: str) -> None:
        from workflow.services import followup  # follow-up takes its steps through this module
        getattr(followup, name)(case, actor, reason)
    effect.__name__ = name
    return effect


# What an event does besides moving the stage, in order.
EFFECTS = {
    Event.APPROVE: (_followup("on_approved_while_running"),),
    Event.START_DELIVERY: (_followup("on_delivery_started"),),
    Event.CONTINUE: (_followup("on_outcome_continues"),),
    Event.CHANGE_WITHIN_FRAME: (_on_change_within_frame, _followup("on_outcome_continues")),
    Event.REASSESS: (_on_reassess,),
    Event.END: (_followup("on_end"),),
    Event.CLOSE: (_on_close,),
    Event.CANCEL: (_on_cancel,),
}


def take_step(case: PurchaseCase, event: Event, actor: User, *, version: int | None = None,
              reason: str = "") -> Decision:
    """Carry out one event of the process on a case, or raise ServiceError with what is missing."""
    check_version(case, version)
    if not case.can_view(actor):
        raise ServiceError(_("You are not on this case."))
    source = Stage(case.stage)
    decision = decide(source, event, facts_for(case, actor, reason))
    if not decision.allowed:
        raise ServiceError(" ".join(decision.refusals))
    for effect in EFFECTS.get(event, ()):
        effect(case, actor, reason)
    now = utcnow()
    if decision.target != source:
        db.session.execute(update(StageVisit).where(StageVisit.case_id == case.id, StageVisit.left_at.is_(None))
                           .values(left_at=now))
        db.session.add(StageVisit(case_id=case.id, stage=decision.target, entered_at=now))
        case.stage = decision.target
        case.stage_entered_at = now
    case.changed_at = now
    details = {"event": str(event), "from": str(source), "to": str(decision.target)}
    if reason.strip():
        details["reason"] = reason.strip()
    audit.record("case.step", case, details, actor=actor)
    return decision
