"""Stages 6 to 8: the start of delivery, the follow-up schedule and records, and the ending.

The process module decides which outcome leads where; this module keeps the schedule (first
follow-up N months after the start, then every M months, per legal basis in settings, and a
yearly supplier review), the records, the due states and the ending with its notice and cost.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from workflow import clock, pricing
from workflow.extensions import db
from workflow.models import CaseEnding, ContractVersion, FollowUp, GoalScore, PurchaseCase, User
from workflow.models.followup import GOAL_SCORES, OUTCOMES, QUALITY_RATINGS
from workflow.models.types import utcnow
from workflow.process import OUTCOME_EVENTS, Event, Stage
from workflow.roles import Role
from workflow.services import audit, settings
from workflow.services.cases import check_version, current_assessment
from workflow.services.errors import ServiceError
from workflow.vum import THEME_LABELS

SUPPLIER_REVIEW_MONTHS = 12
LONGEST_BACKDATING = timedelta(days=366)   # a start or follow-up recorded up to a year after the fact
DAYS_PER_YEAR = Decimal(365)               # a day of an annual cost, as a døgntakst is a 365th of it

# Due states, in the order a follow-up passes through them.
SCHEDULED, SOON, DUE, OVERDUE, DONE, CANCELLED = "scheduled", "soon", "due", "overdue", "done", "cancelled"
OPEN_STATES = (SCHEDULED, SOON, DUE, OVERDUE)


def state_of(follow_up: FollowUp, today: date, soon_days: int | None = None) -> str:
    """Scheduled, soon due (within the soon-due days), due today, overdue; or done or cancelled."""
    if follow_up.held_on is not None:
        return DONE
    if follow_up.cancelled_on is not None:
        return CANCELLED
    if follow_up.due_date < today:
        return OVERDUE
    if follow_up.due_date == today:
        return DUE
    soon_days = settings.get("followup_soon_days") if soon_days is None else soon_days
    return SOON if follow_up.due_date <= today + timedelta(days=soon_days) else SCHEDULED


def interval(legal_basis: str) -> tuple[int, int]:
    """Months to the first follow-up and between later ones, for this legal basis."""
    found = settings.get("followup_intervals").get(legal_basis) or {"first_months": 3, "then_months": 12}
    return int(found["first_months"]), int(found["then_months"])


# --- Reading ---

def follow_ups(case: PurchaseCase) -> list[FollowUp]:
    return list(db.session.scalars(
        select(FollowUp).where(FollowUp.case_id == case.id)
        .options(selectinload(FollowUp.goal_scores), selectinload(FollowUp.recorded_by),
                 selectinload(FollowUp.supplier_recorded_by))
        .order_by(FollowUp.due_date, FollowUp.id)))


def next_open(case: PurchaseCase, kind: str = "individual") -> FollowUp | None:
    return db.session.scalars(
        select(FollowUp).where(FollowUp.case_id == case.id, FollowUp.kind == kind, FollowUp.held_on.is_(None),
                               FollowUp.cancelled_on.is_(None))
        .order_by(FollowUp.due_date, FollowUp.id)).first()


def pending_outcome(case: PurchaseCase) -> FollowUp | None:
    """The held follow-up whose outcome the process has not yet acted on."""
    return db.session.scalars(
        select(FollowUp).where(FollowUp.case_id == case.id, FollowUp.kind == "individual",
                               FollowUp.outcome.is_not(None), FollowUp.outcome_applied.is_(False))
        .order_by(FollowUp.id.desc())).first()


def responsible(follow_up: FollowUp) -> list[User]:
    """Who answers for a follow-up: the owner; for a supplier review procurement and economy (or the owner)."""
    case = follow_up.case
    if follow_up.kind == "supplier_review":
        found = {user.id: user for user in (case.procurement, case.economy) if user is not None}
        if found:
            return list(found.values())
    return [case.owner]


def _responsible_condition(user: User):
    """responsible() as a SQL condition on FollowUp joined with PurchaseCase."""
    review = FollowUp.kind == "supplier_review"
    nobody_on_supplier_side = and_(PurchaseCase.procurement_id.is_(None), PurchaseCase.economy_id.is_(None))
    return or_(
        and_(~review, PurchaseCase.owner_id == user.id),
        and_(review, or_(PurchaseCase.procurement_id == user.id, PurchaseCase.economy_id == user.id)),
        and_(review, nobody_on_supplier_side, PurchaseCase.owner_id == user.id))


def due(today: date, user: User | None = None, limit: int | None = None) -> list[FollowUp]:
    """Open follow-ups of open cases, overdue or due within the soon-due days, oldest first; only the
    user's (responsible()) when a user is given. The cases and their team are loaded with them."""
    soon_days = settings.get("followup_soon_days")
    query = (select(FollowUp).join(PurchaseCase, FollowUp.case_id == PurchaseCase.id)
             .where(FollowUp.held_on.is_(None), FollowUp.cancelled_on.is_(None),
                    FollowUp.due_date <= today + timedelta(days=soon_days),
                    PurchaseCase.stage.not_in((Stage.CLOSED, Stage.CANCELLED)))
             .options(selectinload(FollowUp.case).options(
                 selectinload(PurchaseCase.owner), selectinload(PurchaseCase.procurement),
                 selectinload(PurchaseCase.economy)))
             .order_by(FollowUp.due_date, FollowUp.id))
    if user is not None:
        query = query.where(_responsible_condition(user))
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def due_for(user: User, today: date, limit: int = 20) -> list[tuple[FollowUp, str]]:
    """The user's follow-ups that are overdue or due soon, with their state (the start page)."""
    soon_days = settings.get("followup_soon_days")   # read once, not once a row
    return [(row, state_of(row, today, soon_days)) for row in due(today, user, limit)]


def ending(case: PurchaseCase) -> CaseEnding | None:
    return db.session.scalar(select(CaseEnding).where(CaseEnding.case_id == case.id))


def facts(case: PurchaseCase) -> dict:
    """What the process's guards ask about delivery, follow-up and ending."""
    pending = pending_outcome(case) if case.stage == Stage.FOLLOW_UP else None
    found = ending(case) if case.stage == Stage.ENDING else None
    return {"delivery_started": case.delivery_started_on is not None,
            "followup_outcome": pending.outcome if pending else None,
            "ending_recorded": bool(found and found.complete)}


# --- Money over a period ---

def _approved_versions(case: PurchaseCase) -> list[ContractVersion]:
    return list(db.session.scalars(
        select(ContractVersion).where(ContractVersion.case_id == case.id,
                                      ContractVersion.status.in_(("approved", "superseded")))
        .options(selectinload(ContractVersion.lines)).order_by(ContractVersion.number)))


def cost_between(case: PurchaseCase, start: date, end: date) -> Decimal:
    """What the approved contract versions say the days from start to end (both included) cost.

    Each version counts from the start of delivery (the first) or the day it was approved (later
    ones, a change within frame) until the next version took over.
    """
    versions = _approved_versions(case)
    if not versions or end < start:
        return Decimal("0.00")
    first_day = case.delivery_started_on or versions[0].start_date or start
    periods = []
    for index, version in enumerate(versions):
        begins = first_day if index == 0 else max(first_day, clock.local_date(version.approved_at))
        periods.append((begins, version))
    total = Decimal(0)
    for index, (begins, version) in enumerate(periods):
        ends = periods[index + 1][0] - timedelta(days=1) if index + 1 < len(periods) else end
        days = (min(ends, end) - max(begins, start)).days + 1
        if days > 0:
            total += version.annual_cost * days / DAYS_PER_YEAR
    return total.quantize(pricing.ONE_ORE, rounding=ROUND_HALF_UP)


def notice_date(end_date: date, notice_months: int) -> date:
    """The last day notice can be given for the placement to end on end_date."""
    return clock.add_months(end_date, -notice_months)


# --- Start of delivery and the schedule ---

def _schedule(case: PurchaseCase, kind: str, due: date) -> FollowUp:
    follow_up = FollowUp(case_id=case.id, kind=kind, due_date=due)
    db.session.add(follow_up)
    return follow_up


def start_delivery(case: PurchaseCase, actor: User, started_on: date | None, today: date,
                   version: int | None = None) -> None:
    """Record the actual start: the contract becomes active and the follow-ups are scheduled."""
    check_version(case, version)
    if not case.can_view(actor):
        raise ServiceError(_("You are not on this case."))
    if started_on is None:
        raise ServiceError(_("Give the date the delivery started."), "started_on")
    if started_on > today:
        raise ServiceError(_("The start of delivery cannot be in the future."), "started_on")
    if started_on < today - LONGEST_BACKDATING:
        raise ServiceError(_("The start of delivery can be recorded at most a year back."), "started_on")
    case.delivery_started_on = started_on
    from workflow.services import transitions  # transitions carries out this module's effects
    transitions.take_step(case, Event.START_DELIVERY, actor)


def on_delivery_started(case: PurchaseCase, actor: User, reason: str) -> None:
    first, _then = interval(case.legal_basis)
    _schedule(case, "individual", clock.add_months(case.delivery_started_on, first))
    _schedule(case, "supplier_review", clock.add_months(case.delivery_started_on, SUPPLIER_REVIEW_MONTHS))
    audit.record("followup.scheduled", case, {"started_on": case.delivery_started_on.isoformat(),
                                              "first_months": first}, actor=actor)


def on_approved_while_running(case: PurchaseCase, actor: User, reason: str) -> None:
    """Back in follow-up after a re-assessment: the new terms get their first follow-up."""
    if case.delivery_started_on is None or next_open(case) is not None:
        return
    first, _then = interval(case.legal_basis)
    _schedule(case, "individual", clock.add_months(clock.today(), first))
    if next_open(case, "supplier_review") is None:
        _schedule(case, "supplier_review", clock.add_months(clock.today(), SUPPLIER_REVIEW_MONTHS))


def on_outcome_continues(case: PurchaseCase, actor: User, reason: str) -> None:
    """Continue, or change within frame: the placement goes on and the next follow-up is due."""
    held = pending_outcome(case)
    _first, then = interval(case.legal_basis)
    _schedule(case, "individual", clock.add_months(held.held_on, then))


def on_end(case: PurchaseCase, actor: User, reason: str) -> None:
    """Afsluttes: the ending with its notice date and cost; the open follow-ups are cancelled."""
    held = pending_outcome(case)
    contract = next(iter(reversed(_approved_versions(case))), None)
    months = contract.notice_months if contract else None
    db.session.add(CaseEnding(
        case_id=case.id, end_date=held.end_date, reason=held.end_reason, notice_months=months,
        notice_date=notice_date(held.end_date, months) if months is not None else None,
        computed_cost=_cost_to_end(case, held.end_date), recorded_by_id=actor.id))
    for follow_up in _open(case):
        follow_up.cancelled_on = held.held_on


def _open(case: PurchaseCase) -> list[FollowUp]:
    return list(db.session.scalars(select(FollowUp).where(
        FollowUp.case_id == case.id, FollowUp.held_on.is_(None), FollowUp.cancelled_on.is_(None))))


def _cost_to_end(case: PurchaseCase, end_date: date) -> Decimal | None:
    if case.delivery_started_on is None:
        return None
    return cost_between(case, case.delivery_started_on, end_date)


# --- Recording a follow-up: the citizen's side and the outcome ---

@dataclass
class GoalScoreInput:
    goal_id: int
    score: str
    note: str = ""


@dataclass
class FollowUpInput:
    held_on: date | None
    participants: str
    citizen_view: str
    outcome: str
    scores: list[GoalScoreInput] = field(default_factory=list)
    functional_levels: dict[str, int] = field(default_factory=dict)   # only the themes whose level changed
    notes: str = ""
    end_date: date | None = None
    end_reason: str = ""


def can_record(case: PurchaseCase, user: User) -> bool:
    """The unit's caseworkers record follow-ups, while the case is in follow-up."""
    return case.stage == Stage.FOLLOW_UP and user.role == Role.CASEWORKER and case.can_view(user)


def can_record_supplier_side(case: PurchaseCase, user: User) -> bool:
    """Procurement and economy on the case record the supplier and money side, while delivery runs."""
    return (case.delivery_started_on is not None and case.is_open and case.stage != Stage.ENDING
            and user.id in (case.procurement_id, case.economy_id))


def _last_held(case: PurchaseCase) -> date | None:
    return db.session.scalar(select(FollowUp.held_on).where(
        FollowUp.case_id == case.id, FollowUp.kind == "individual", FollowUp.held_on.is_not(None))
        .order_by(FollowUp.held_on.desc()).limit(1))


def _check_record(case: PurchaseCase, data: FollowUpInput, today: date) -> None:
    if data.held_on is None:
        raise ServiceError(_("Give the date the follow-up was held."), "held_on")
    if data.held_on > today:
        raise ServiceError(_("A follow-up is recorded when it has been held: the date cannot be in the future."),
                           "held_on")
    if case.delivery_started_on and data.held_on < case.delivery_started_on:
        raise ServiceError(_("The follow-up cannot be held before the delivery started."), "held_on")
    if data.held_on < today - LONGEST_BACKDATING:
        raise ServiceError(_("A follow-up can be recorded at most a year after it was held."), "held_on")
    last = _last_held(case)
    if last is not None and data.held_on < last:
        raise ServiceError(_("The follow-up cannot be held before the last one (%(date)s).",
                             date=last.strftime("%d-%m-%Y")), "held_on")
    if not data.participants.strip():
        raise ServiceError(_("Write who took part."), "participants")
    if data.outcome not in OUTCOMES:
        raise ServiceError(_("Choose the outcome of the follow-up."), "outcome")
    goals = {goal.id for goal in current_assessment(case).goals}
    scored = {score.goal_id for score in data.scores}
    if scored - goals:
        raise ServiceError(_("A score refers to a goal that is not on the case."), "scores")
    if goals - scored or any(score.score not in GOAL_SCORES for score in data.scores):
        raise ServiceError(_("Score every goal: achieved, partly achieved or not achieved."), "scores")
    for theme, level in data.functional_levels.items():
        if theme not in THEME_LABELS or type(level) is not int or level not in range(5):
            raise ServiceError(_("Choose functional levels from the list."), "functional_levels")
    if data.outcome == "end":
        if data.end_date is None:
            raise ServiceError(_("Give the end date."), "end_date")
        if data.end_date < data.held_on:
            raise ServiceError(_("The end date cannot be before the follow-up."), "end_date")
        if not data.end_reason.strip():
            raise ServiceError(_("Give the reason the purchase ends."), "end_reason")


def record(case: PurchaseCase, actor: User, data: FollowUpInput, today: date, version: int | None = None,
           case_version: int | None = None) -> FollowUp:
    """Record the next due follow-up (or an extra one) and carry out its outcome in the process."""
    check_version(case, case_version)
    if not can_record(case, actor):
        raise ServiceError(_("Only the unit's caseworkers record follow-ups, while the case is in follow-up."))
    follow_up = next_open(case)
    if follow_up is not None:
        check_version(follow_up, version)
    _check_record(case, data, today)
    if follow_up is None:
        follow_up = _schedule(case, "individual", data.held_on)
    goals = {goal.id: goal for goal in current_assessment(case).goals}
    follow_up.held_on = data.held_on
    follow_up.recorded_by_id, follow_up.recorded_at = actor.id, utcnow()
    follow_up.participants = data.participants.strip()
    follow_up.citizen_view = data.citizen_view.strip() or None
    follow_up.notes = data.notes.strip() or None
    follow_up.functional_levels = dict(data.functional_levels) or None
    follow_up.outcome = data.outcome
    follow_up.end_date = data.end_date if data.outcome == "end" else None
    follow_up.end_reason = data.end_reason.strip() or None if data.outcome == "end" else None
    follow_up.goal_scores = [
        GoalScore(goal_id=score.goal_id, position=goals[score.goal_id].position,
                  goal_text=goals[score.goal_id].text, score=score.score, note=score.note.strip() or None)
        for score in data.scores]
    db.session.flush()
    from workflow.services import transitions  # transitions carries out this module's effects
    transitions.take_step(case, OUTCOME_EVENTS[data.outcome], actor)
    follow_up.outcome_applied = True
    audit.record("followup.recorded", follow_up, {
        "held_on": data.held_on.isoformat(), "outcome": data.outcome,
        "scores": {score.goal_id: score.score for score in data.scores}}, actor=actor, case=case)
    return follow_up


# --- The supplier and money side ---

@dataclass
class SupplierSideInput:
    reports_received: bool
    quality: str
    deviations: str = ""
    incidents: str = ""
    period_from: date | None = None
    period_to: date | None = None
    invoiced: Decimal | None = None
    held_on: date | None = None      # for a supplier review: the day it was held


def _check_supplier_side(case: PurchaseCase, follow_up: FollowUp, data: SupplierSideInput, today: date) -> None:
    if data.quality not in QUALITY_RATINGS:
        raise ServiceError(_("Choose the quality from the list."), "quality")
    if follow_up.kind == "supplier_review" and follow_up.held_on is None:
        if data.held_on is None:
            raise ServiceError(_("Give the date the supplier review was held."), "held_on")
        if data.held_on > today:
            raise ServiceError(_("A supplier review is recorded when it has been held: the date cannot be in "
                                 "the future."), "held_on")
        if case.delivery_started_on and data.held_on < case.delivery_started_on:
            raise ServiceError(_("The supplier review cannot be held before the delivery started."), "held_on")
    given = [data.period_from, data.period_to, data.invoiced]
    if any(value is not None for value in given) and not all(value is not None for value in given):
        raise ServiceError(_("Give the period and the invoiced amount together."), "period_from")
    if data.period_from is not None:
        if data.period_to < data.period_from:
            raise ServiceError(_("The period ends before it begins."), "period_to")
        if case.delivery_started_on and data.period_from < case.delivery_started_on:
            raise ServiceError(_("The period cannot begin before the delivery started."), "period_from")
        if data.period_to > today:
            raise ServiceError(_("The period cannot end in the future."), "period_to")
        if data.invoiced < 0:
            raise ServiceError(_("The invoiced amount cannot be negative."), "invoiced")


def record_supplier_side(case: PurchaseCase, follow_up: FollowUp, actor: User, data: SupplierSideInput,
                         today: date, version: int | None = None) -> None:
    """Reports, quality, deviations and incidents, and what was invoiced against the contract."""
    check_version(follow_up, version)
    if follow_up.case_id != case.id or follow_up.cancelled_on is not None:
        raise ServiceError(_("This follow-up cannot be changed."))
    if not can_record_supplier_side(case, actor):
        raise ServiceError(_("Only procurement and economy on the case record the supplier side."))
    _check_supplier_side(case, follow_up, data, today)
    first_time = not follow_up.supplier_side_recorded
    follow_up.reports_received, follow_up.quality = data.reports_received, data.quality
    follow_up.deviations = data.deviations.strip() or None
    follow_up.incidents = data.incidents.strip() or None
    follow_up.period_from, follow_up.period_to, follow_up.invoiced = data.period_from, data.period_to, data.invoiced
    follow_up.contract_amount = (cost_between(case, data.period_from, data.period_to)
                                 if data.period_from is not None else None)
    follow_up.supplier_recorded_by_id, follow_up.supplier_recorded_at = actor.id, utcnow()
    if follow_up.kind == "supplier_review" and follow_up.held_on is None:
        follow_up.held_on = data.held_on
        follow_up.recorded_by_id, follow_up.recorded_at = actor.id, utcnow()
        _schedule(case, "supplier_review", clock.add_months(data.held_on, SUPPLIER_REVIEW_MONTHS))
    db.session.flush()
    audit.record("followup.supplier_side", follow_up, {
        "kind": follow_up.kind, "quality": data.quality, "first_time": first_time,
        "invoiced": str(data.invoiced) if data.invoiced is not None else None,
        "contract_amount": str(follow_up.contract_amount) if follow_up.contract_amount is not None else None},
        actor=actor, case=case)


# --- Ending ---

@dataclass
class EndingInput:
    end_date: date | None
    reason: str
    final_cost: Decimal | None
    notice_given_on: date | None = None


def can_edit_ending(case: PurchaseCase, user: User) -> bool:
    """The unit's caseworkers and economy on the case, while the case is in its ending."""
    if case.stage != Stage.ENDING or not case.can_view(user):
        return False
    return user.role == Role.CASEWORKER or user.id == case.economy_id


def save_ending(case: PurchaseCase, actor: User, data: EndingInput, version: int | None = None) -> CaseEnding:
    found = ending(case)
    if found is None:
        raise ServiceError(_("The ending is recorded with a follow-up whose outcome is to end."))
    check_version(found, version)
    if not can_edit_ending(case, actor):
        raise ServiceError(_("Only the unit's caseworkers and economy on the case record the ending."))
    if data.end_date is None:
        raise ServiceError(_("Give the end date."), "end_date")
    if case.delivery_started_on and data.end_date < case.delivery_started_on:
        raise ServiceError(_("The end date cannot be before the delivery started."), "end_date")
    if not data.reason.strip():
        raise ServiceError(_("Give the reason the purchase ends."), "reason")
    if data.notice_given_on is not None and data.notice_given_on > clock.today():
        raise ServiceError(_("The day notice was given cannot be in the future."), "notice_given_on")
    if data.final_cost is not None and data.final_cost < 0:
        raise ServiceError(_("The final cost cannot be negative."), "final_cost")
    values = {"end_date": data.end_date, "reason": data.reason.strip(), "final_cost": data.final_cost,
              "notice_given_on": data.notice_given_on}
    if data.end_date != found.end_date:
        values["computed_cost"] = _cost_to_end(case, data.end_date)
        values["notice_date"] = (notice_date(data.end_date, found.notice_months)
                                 if found.notice_months is not None else None)
    changed = audit.changes(found, values)
    if changed:
        db.session.flush()
        audit.record("ending.saved", found, {"changes": changed}, actor=actor, case=case)
    return found


def close(case: PurchaseCase, actor: User, version: int | None = None) -> None:
    from workflow.services import transitions  # transitions carries out the step
    transitions.take_step(case, Event.CLOSE, actor, version=version)
