"""The purchase process: its stages, the events between them, their guards and who may act.

    1 Behov og udredning  --complete_assessment-->  2 Markedsafdækning
    2 Markedsafdækning    --start_dialogue------->  3 Leverandørdialog
                          --back_to_assessment--->  1
    3 Leverandørdialog    --choose_supplier------>  4 Kontrakt og vilkår
    4 Kontrakt og vilkår  --submit_terms--------->  5 Godkendelse
    5 Godkendelse         --review_terms--------->  5 (procurement or economy checks the terms)
                          --approve-------------->  6 Levering (or 7 when the placement already runs)
                          --reject--------------->  4
    6 Levering            --start_delivery------->  7 Opfølgning
    7 Opfølgning          --continue------------->  7 (Fortsættes)
                          --change_within_frame-->  4 (Ændres inden for rammen: a new contract version)
                          --reassess------------->  1 (Revisitation)
                          --end------------------>  8 (Afsluttes)
    8 Ophør               --close---------------->  Lukket
    1–5                   --cancel--------------->  Annulleret (not once the placement runs: it ends instead)

Plain Python: no Flask, no database. Services gather what the guards need about a case into
CaseFacts, ask decide(), and carry out what it allows. Nothing else decides these rules.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from workflow.roles import Role


class Stage(StrEnum):
    NEEDS = "needs"
    MARKET_SCAN = "market_scan"
    DIALOGUE = "dialogue"
    TERMS = "terms"
    APPROVAL = "approval"
    DELIVERY = "delivery"
    FOLLOW_UP = "follow_up"
    ENDING = "ending"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def info(self) -> StageInfo:
        return STAGES[self]

    @property
    def label(self) -> str:
        return str(STAGES[self].title)


@dataclass(frozen=True)
class StageInfo:
    number: int | None          # 1–8 for the stages of the diagram; None for the two end states
    title: object
    lead: Role | None           # None: led by the supplier, outside the system
    collaborators: tuple[Role, ...]
    summary: object
    task_roles: tuple[Role, ...] = ()  # whose task list ("Mine opgaver") shows a case in this stage


CW, PROC, ECON, MGR = Role.CASEWORKER, Role.PROCUREMENT, Role.ECONOMY, Role.MANAGER

STAGES: dict[Stage, StageInfo] = {
    Stage.NEEDS: StageInfo(1, _l("Needs and assessment"), CW, (MGR,),
                           _l("Needs assessment and decision: legal basis, functional levels, goals, consent."), (CW,)),
    Stage.MARKET_SCAN: StageInfo(2, _l("Market scan"), CW, (PROC,),
                                 _l("Search the offer registry, compare and shortlist."), (CW, PROC)),
    Stage.DIALOGUE: StageInfo(3, _l("Supplier dialogue"), PROC, (CW,),
                              _l("Ask the shortlisted suppliers, negotiate, compare and choose."), (PROC,)),
    Stage.TERMS: StageInfo(4, _l("Contract and terms"), PROC, (ECON,),
                           _l("Contract terms after the KL standard contract: prices, dates, duties."), (PROC, ECON)),
    Stage.APPROVAL: StageInfo(5, _l("Approval"), MGR, (PROC, ECON),
                              _l("Review and approval by amount tier, with four eyes."), (MGR, ECON)),
    Stage.DELIVERY: StageInfo(6, _l("Delivery"), None, (CW,),
                              _l("The supplier starts the placement or service; follow-ups are scheduled."), (CW,)),
    # A running placement is not a task in itself: its follow-ups are, when they fall due ("Follow-ups due").
    Stage.FOLLOW_UP: StageInfo(7, _l("Follow-up"), CW, (PROC, ECON),
                               _l("Follow-up of the citizen's goals and of the supplier; the outcome decides.")),
    Stage.ENDING: StageInfo(8, _l("Ending"), CW, (ECON,),
                            _l("End date, reason, notice and final cost."), (CW, ECON)),
    Stage.CLOSED: StageInfo(None, _l("Closed"), None, (), _l("The purchase has ended.")),
    Stage.CANCELLED: StageInfo(None, _l("Cancelled"), None, (), _l("The case was cancelled.")),
}

PROCESS_STAGES: tuple[Stage, ...] = tuple(s for s, info in STAGES.items() if info.number is not None)
ACTIVE_STAGES: tuple[Stage, ...] = PROCESS_STAGES
CANCELLABLE: tuple[Stage, ...] = (Stage.NEEDS, Stage.MARKET_SCAN, Stage.DIALOGUE, Stage.TERMS, Stage.APPROVAL)


class Event(StrEnum):
    COMPLETE_ASSESSMENT = "complete_assessment"
    BACK_TO_ASSESSMENT = "back_to_assessment"
    START_DIALOGUE = "start_dialogue"
    CHOOSE_SUPPLIER = "choose_supplier"
    SUBMIT_TERMS = "submit_terms"
    REVIEW_TERMS = "review_terms"
    APPROVE = "approve"
    REJECT = "reject"
    START_DELIVERY = "start_delivery"
    CONTINUE = "continue"
    CHANGE_WITHIN_FRAME = "change_within_frame"
    REASSESS = "reassess"
    END = "end"
    CLOSE = "close"
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        return str(EVENT_LABELS[self])


EVENT_LABELS = {
    Event.COMPLETE_ASSESSMENT: _l("Hand over to market scan"),
    Event.BACK_TO_ASSESSMENT: _l("Back to the needs assessment"),
    Event.START_DIALOGUE: _l("Start supplier dialogue"),
    Event.CHOOSE_SUPPLIER: _l("Choose supplier and go to terms"),
    Event.SUBMIT_TERMS: _l("Submit terms for approval"),
    Event.REVIEW_TERMS: _l("Mark terms as reviewed"),
    Event.APPROVE: _l("Approve"),
    Event.REJECT: _l("Reject"),
    Event.START_DELIVERY: _l("Record start of delivery"),
    Event.CONTINUE: _l("Continue (Fortsættes)"),
    Event.CHANGE_WITHIN_FRAME: _l("Change within frame (Ændres inden for rammen)"),
    Event.REASSESS: _l("Re-assess (Revisitation)"),
    Event.END: _l("End (Afsluttes)"),
    Event.CLOSE: _l("Close the case"),
    Event.CANCEL: _l("Cancel the case"),
}

# The follow-up outcomes (FSIII) and the event each one triggers.
OUTCOME_EVENTS = {
    "continue": Event.CONTINUE,
    "change_within_frame": Event.CHANGE_WITHIN_FRAME,
    "reassess": Event.REASSESS,
    "end": Event.END,
}


@dataclass(frozen=True)
class CaseFacts:
    """What the guards need to know about a case and the person acting, as plain values."""

    actor_id: int
    actor_role: Role
    actor_approval_limit: Decimal | None = None
    acute: bool = False
    assessed_themes: int = 0
    support_need_set: bool = False
    goals: int = 0
    decision_recorded: bool = False
    child_case: bool = False
    child_investigation_recorded: bool = False
    shortlist: int = 0
    framework_offer_shortlisted: bool = False
    reply_chosen: bool = False
    choice_justified: bool = True
    terms_complete: bool = False
    annual_cost: Decimal | None = None
    drafted_by_id: int | None = None
    submitted_by_id: int | None = None
    reviewed: bool = False
    reviewed_by_id: int | None = None
    delivery_started: bool = False
    followup_outcome: str | None = None   # outcome of the follow-up recorded since the last decision
    ending_recorded: bool = False
    reason: str = ""


Guard = Callable[[CaseFacts], object | None]   # returns a message when the step is not yet possible


def _assessed(f: CaseFacts):
    return None if f.assessed_themes > 0 else _l("Assess the functional level of at least one theme.")


def _support_need(f: CaseFacts):
    return None if f.support_need_set else _l("Choose the support need level.")


def _goals(f: CaseFacts):
    return None if f.goals > 0 else _l("Write at least one goal.")


def _decision(f: CaseFacts):
    return None if f.decision_recorded else _l("Record the decision: its date and who decided.")


def _child_investigation(f: CaseFacts):
    if f.child_case and not f.child_investigation_recorded:
        return _l("Record the date of the child-welfare investigation (Barnets Lov § 20).")
    return None


def _shortlist(f: CaseFacts):
    return None if f.shortlist > 0 else _l("Shortlist at least one offer.")


def _few_offers(f: CaseFacts):
    if f.shortlist >= 3 or f.acute or f.framework_offer_shortlisted or f.shortlist == 0:
        return None
    return _l("Fewer than three offers are shortlisted. Consider adding more before the dialogue.")


def _reply_chosen(f: CaseFacts):
    return None if f.reply_chosen else _l("Choose one supplier's reply.")


def _choice_justified(f: CaseFacts):
    return None if f.choice_justified else _l("Justify the choice: it is not the best scored or the cheapest.")


def _terms_complete(f: CaseFacts):
    return None if f.terms_complete else _l("Complete the contract terms: parties, price lines and start date.")


def _not_submitter(f: CaseFacts):
    if f.actor_id in (f.drafted_by_id, f.submitted_by_id):
        return _l("You drafted or submitted these terms, so someone else must review and approve them.")
    return None


def _not_reviewed(f: CaseFacts):
    return None if not f.reviewed else _l("The terms have been reviewed already.")


def _reviewed(f: CaseFacts):
    return None if f.reviewed else _l("Procurement or economy must review the terms before approval.")


def _within_limit(f: CaseFacts):
    if f.annual_cost is None:
        return _l("The annual cost is not known.")
    if f.actor_approval_limit is None or f.actor_approval_limit < f.annual_cost:
        return _l("The annual cost is above your approval limit.")
    return None


def _reason(f: CaseFacts):
    return None if f.reason.strip() else _l("Give a reason.")


def _not_running(f: CaseFacts):
    if f.delivery_started:
        return _l("The placement is running: end it with a follow-up whose outcome is to end, not by cancelling.")
    return None


def _started(f: CaseFacts):
    return None if f.delivery_started else _l("Record the date the delivery actually started.")


def _outcome(outcome: str) -> Guard:
    def guard(f: CaseFacts):
        if f.followup_outcome == outcome:
            return None
        return _l("Record a follow-up with this outcome first.")
    guard.__name__ = f"_outcome_{outcome}"
    return guard


def _ending(f: CaseFacts):
    return None if f.ending_recorded else _l("Record the end date, the reason and the final cost.")


@dataclass(frozen=True)
class Transition:
    source: Stage
    event: Event
    target: Stage
    roles: tuple[Role, ...]
    guards: tuple[Guard, ...] = ()
    warnings: tuple[Guard, ...] = ()        # shown, but do not block
    target_when_running: Stage | None = None  # where to go when the delivery has already started


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Stage.NEEDS, Event.COMPLETE_ASSESSMENT, Stage.MARKET_SCAN, (CW,),
               (_assessed, _support_need, _goals, _decision, _child_investigation)),
    Transition(Stage.MARKET_SCAN, Event.BACK_TO_ASSESSMENT, Stage.NEEDS, (CW,)),
    Transition(Stage.MARKET_SCAN, Event.START_DIALOGUE, Stage.DIALOGUE, (CW, PROC), (_shortlist,), (_few_offers,)),
    Transition(Stage.DIALOGUE, Event.CHOOSE_SUPPLIER, Stage.TERMS, (PROC,), (_reply_chosen, _choice_justified)),
    Transition(Stage.TERMS, Event.SUBMIT_TERMS, Stage.APPROVAL, (PROC,), (_terms_complete,)),
    Transition(Stage.APPROVAL, Event.REVIEW_TERMS, Stage.APPROVAL, (PROC, ECON), (_not_reviewed, _not_submitter)),
    Transition(Stage.APPROVAL, Event.APPROVE, Stage.DELIVERY, (MGR,), (_reviewed, _not_submitter, _within_limit),
               target_when_running=Stage.FOLLOW_UP),
    Transition(Stage.APPROVAL, Event.REJECT, Stage.TERMS, (MGR, PROC, ECON), (_reason,)),
    Transition(Stage.DELIVERY, Event.START_DELIVERY, Stage.FOLLOW_UP, (CW, PROC), (_started,)),
    Transition(Stage.FOLLOW_UP, Event.CONTINUE, Stage.FOLLOW_UP, (CW,), (_outcome("continue"),)),
    Transition(Stage.FOLLOW_UP, Event.CHANGE_WITHIN_FRAME, Stage.TERMS, (CW,), (_outcome("change_within_frame"),)),
    Transition(Stage.FOLLOW_UP, Event.REASSESS, Stage.NEEDS, (CW,), (_outcome("reassess"),)),
    Transition(Stage.FOLLOW_UP, Event.END, Stage.ENDING, (CW,), (_outcome("end"),)),
    Transition(Stage.ENDING, Event.CLOSE, Stage.CLOSED, (CW, ECON), (_ending,)),
    *(Transition(stage, Event.CANCEL, Stage.CANCELLED, (CW, MGR), (_reason, _not_running)) for stage in CANCELLABLE),
)

_BY_KEY: dict[tuple[Stage, Event], Transition] = {(t.source, t.event): t for t in TRANSITIONS}


@dataclass(frozen=True)
class Decision:
    event: Event
    allowed: bool
    target: Stage | None = None
    refusals: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def transition_for(stage: Stage, event: Event) -> Transition | None:
    return _BY_KEY.get((Stage(stage), Event(event)))


def decide(stage: Stage, event: Event, facts: CaseFacts) -> Decision:
    """May this person trigger this event on a case in this stage, and where does it lead?"""
    transition = transition_for(stage, event)
    if transition is None:
        return Decision(event, False, refusals=(str(_l("This step is not possible in the stage %(stage)s.",
                                                         stage=Stage(stage).label)),))
    if facts.actor_role not in transition.roles:
        roles = ", ".join(role.label for role in transition.roles)
        return Decision(event, False, refusals=(str(_l("Only these roles can take this step: %(roles)s.",
                                                         roles=roles)),))
    refusals = tuple(str(m) for m in (guard(facts) for guard in transition.guards) if m)
    warnings = tuple(str(m) for m in (check(facts) for check in transition.warnings) if m)
    target = transition.target
    if transition.target_when_running and facts.delivery_started:
        target = transition.target_when_running
    return Decision(event, not refusals, target if not refusals else None, refusals, warnings)


def events_from(stage: Stage) -> tuple[Event, ...]:
    return tuple(t.event for t in TRANSITIONS if t.source == stage)


def next_steps(stage: Stage, facts: CaseFacts) -> list[Decision]:
    """Every step out of this stage that the actor's role may take, allowed or with what is missing."""
    return [decide(stage, t.event, facts) for t in TRANSITIONS
            if t.source == stage and facts.actor_role in t.roles]


def task_stages(role: Role) -> tuple[Stage, ...]:
    """The stages whose cases wait for this role: its task list ("Mine opgaver")."""
    return tuple(stage for stage in ACTIVE_STAGES if role in STAGES[stage].task_roles)
