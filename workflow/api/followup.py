"""/api/v1: the start of delivery, a case's follow-ups, recording the next one, and the user's due follow-ups."""
from __future__ import annotations

import marshmallow as ma
from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from workflow import clock
from workflow.api import problems
from workflow.api.base import ID, IF_MATCH_DOC, ApiSchema, blueprint, etag, etag_header, found, if_match, listed
from workflow.api.cases import CaseSchema, PersonSchema
from workflow.api.fields import Count, Day, Money, Text
from workflow.cases.loading import load_case
from workflow.extensions import db
from workflow.followup import presenters
from workflow.models.followup import GOAL_SCORES, KINDS, OUTCOMES, QUALITY_RATINGS
from workflow.process import Event, Stage
from workflow.security import STAFF, restrict_blueprint
from workflow.services import cases, contracts, followup, settings, transitions
from workflow.vum import THEME_LABELS

bp = blueprint("followup", "Stages 6 to 8: the start of delivery, the follow-up schedule, recording a follow-up "
                           "with its outcome, and the follow-ups due for the user.")

restrict_blueprint(bp, *STAFF)   # as the follow-up pages

STATES = [followup.SCHEDULED, followup.SOON, followup.DUE, followup.OVERDUE, followup.DONE, followup.CANCELLED]
# What ?state= picks among the user's follow-ups that are overdue or due within the soon-due days.
DUE_FILTERS = {"due": (followup.DUE, followup.SOON), "overdue": (followup.OVERDUE,),
               "all-open": (followup.OVERDUE, followup.DUE, followup.SOON)}


# --- Schemas ---

class GoalScoreSchema(ApiSchema):
    goal_id = ma.fields.Integer(allow_none=True)
    goal_text = ma.fields.String()
    score = ma.fields.String(metadata={"enum": list(GOAL_SCORES)})
    note = ma.fields.String(allow_none=True)


class FollowUpSchema(ApiSchema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": list(KINDS)})
    due_date = ma.fields.Date()
    state = ma.fields.Function(lambda row: followup.state_of(row, clock.today()),
                               metadata={"type": "string", "enum": STATES})
    held_on = ma.fields.Date(allow_none=True)
    cancelled_on = ma.fields.Date(allow_none=True)
    # The citizen's side
    recorded_by = ma.fields.Nested(PersonSchema, allow_none=True)
    participants = ma.fields.String(allow_none=True)
    citizen_view = ma.fields.String(allow_none=True)
    notes = ma.fields.String(allow_none=True)
    functional_levels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), allow_none=True,
                                       metadata={"description": "Theme code → level 0–4, only the changed ones."})
    goal_scores = ma.fields.List(ma.fields.Nested(GoalScoreSchema))
    outcome = ma.fields.String(allow_none=True, metadata={"enum": [*OUTCOMES, None]})
    end_date = ma.fields.Date(allow_none=True)
    end_reason = ma.fields.String(allow_none=True)
    # The supplier and money side
    supplier_recorded_by = ma.fields.Nested(PersonSchema, allow_none=True)
    reports_received = ma.fields.Boolean(allow_none=True)
    quality = ma.fields.String(allow_none=True, metadata={"enum": [*QUALITY_RATINGS, None]})
    deviations = ma.fields.String(allow_none=True)
    incidents = ma.fields.String(allow_none=True)
    period_from = ma.fields.Date(allow_none=True)
    period_to = ma.fields.Date(allow_none=True)
    invoiced = Money(allow_none=True)
    contract_amount = Money(allow_none=True)
    difference = Money(allow_none=True, metadata={"description": "Invoiced minus what the contract says."})
    version = ma.fields.Integer()
    etag = ma.fields.Function(lambda row: etag("followup", row), metadata={
        "type": "string", "description": "Send it in If-Match to record this follow-up."})


class ContractInForceSchema(ApiSchema):
    number = ma.fields.Integer()
    supplier_name = ma.fields.String()
    annual_cost = Money()


class EndingSchema(ApiSchema):
    end_date = ma.fields.Date()
    reason = ma.fields.String(allow_none=True)
    notice_months = ma.fields.Integer(allow_none=True)
    notice_date = ma.fields.Date(allow_none=True)
    notice_given_on = ma.fields.Date(allow_none=True)
    computed_cost = Money(allow_none=True)
    final_cost = Money(allow_none=True)


class FollowUpOverviewSchema(ApiSchema):
    case_id = ma.fields.Integer()
    case_number = ma.fields.String()
    stage = ma.fields.String(metadata={"enum": [str(stage) for stage in Stage]})
    delivery_started_on = ma.fields.Date(allow_none=True)
    contract = ma.fields.Nested(ContractInForceSchema, allow_none=True)
    cost_so_far = Money(allow_none=True, metadata={"description": "What the contract says the days from the "
                                                                  "start of delivery to today cost."})
    can_start_delivery = ma.fields.Boolean()
    can_record = ma.fields.Boolean()
    can_record_supplier_side = ma.fields.Boolean()
    ending = ma.fields.Nested(EndingSchema, allow_none=True)
    items = ma.fields.List(ma.fields.Nested(FollowUpSchema),
                           metadata={"description": "By when each happened: held, cancelled or else due."})


class GoalToScoreSchema(ApiSchema):
    id = ma.fields.Integer()
    goal_type = ma.fields.String()
    text = ma.fields.String()
    measure = ma.fields.String(allow_none=True)


class NextFollowUpSchema(FollowUpSchema):
    goals = ma.fields.Method("_goals", metadata={"type": "array", "items": listed("GoalToScore"),
                                                 "description": "The goals to score, by goal_id."})
    functional_levels_now = ma.fields.Method(
        "_levels", metadata={"type": "object", "additionalProperties": {"type": "integer", "nullable": True},
                             "description": "Each theme's level now: the assessment's, changed by the follow-ups "
                                            "since (null: not assessed)."})

    def _goals(self, row):
        return GoalToScoreSchema(many=True).dump(cases.current_assessment(row.case).goals)

    def _levels(self, row):
        return presenters.current_levels(row.case, followup.follow_ups(row.case))


class CaseRefSchema(ApiSchema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    stage = ma.fields.String(metadata={"enum": [str(stage) for stage in Stage]})


class DueFollowUpSchema(ApiSchema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": list(KINDS)})
    due_date = ma.fields.Date()
    state = ma.fields.String(metadata={"enum": [followup.SOON, followup.DUE, followup.OVERDUE]})
    case = ma.fields.Nested(CaseRefSchema)


class DueListSchema(ApiSchema):
    items = ma.fields.List(ma.fields.Nested(DueFollowUpSchema))
    soon_days = ma.fields.Integer(metadata={"description": "Due within this many days counts as due soon."})


class DueArgs(ApiSchema):
    state = ma.fields.String(load_default="all-open", validate=ma.validate.OneOf(list(DUE_FILTERS)),
                             metadata={"description": "due: due today or within the soon-due days; overdue: due "
                                                      "before today; all-open: both."})


class DeliveryInputSchema(ApiSchema):
    started_on = Day(required=True, metadata={"description": "The day the citizen moved in or the support began."})


class GoalScoreInputSchema(ApiSchema):
    goal_id = Count(minimum=1, maximum=2_147_483_647, required=True)
    score = ma.fields.String(required=True, validate=ma.validate.OneOf(list(GOAL_SCORES)))
    note = Text(500, load_default="")


class RecordInputSchema(ApiSchema):
    held_on = Day(required=True)
    participants = Text(1000, required=True, blank=False,
                        metadata={"description": "Who took part: the citizen, relatives, the supplier's staff, us."})
    citizen_view = Text(3000, load_default="")
    notes = Text(3000, load_default="")
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(list(OUTCOMES)))
    scores = ma.fields.List(ma.fields.Nested(GoalScoreInputSchema), load_default=list,
                            validate=ma.validate.Length(max=50),
                            metadata={"description": "One score per goal of the current assessment."})
    functional_levels = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(list(THEME_LABELS))), values=Count(minimum=0, maximum=4),
        load_default=dict, metadata={"description": "Theme code → level 0–4, only the themes whose level changed."})
    end_date = Day(load_default=None, allow_none=True, metadata={"description": "Only when the outcome is end."})
    end_reason = Text(2000, load_default="", metadata={"description": "Only when the outcome is end."})


# --- Views ---

@bp.route(f"/cases/<{ID}:case_id>/delivery", methods=["POST"])
@bp.arguments(DeliveryInputSchema)
@bp.response(200, CaseSchema)
@bp.doc(**IF_MATCH_DOC)
def start_delivery(data: dict, case_id: int):
    """Record the start of delivery (If-Match: the case's ETag).

    The contract becomes active and the follow-ups are scheduled. Caseworkers and procurement on the case,
    while it waits for the delivery to start.
    """
    case = load_case(case_id)
    if case.stage != Stage.DELIVERY:
        abort(problems.problem(409, _("The start of delivery is recorded while the case waits for it.")))
    if not transitions.offered_to(case, current_user, Event.START_DELIVERY):
        abort(403)
    version = if_match("case", case)
    followup.start_delivery(case, current_user, data["started_on"], clock.today(), version=version)
    db.session.commit()
    return case, 200, etag_header("case", case)


@bp.route(f"/cases/<{ID}:case_id>/follow-ups", methods=["GET"])
@bp.response(200, FollowUpOverviewSchema)
def case_follow_ups(case_id: int):
    """The case's follow-ups and supplier reviews, with their due states and records.

    Also the contract in force, what it has cost so far, what the user may do, and the ending.
    """
    case = load_case(case_id)
    today = clock.today()
    rows = followup.follow_ups(case)
    overview = {
        "case_id": case.id, "case_number": case.number, "stage": case.stage,
        "delivery_started_on": case.delivery_started_on, "contract": contracts.in_force(case),
        "cost_so_far": (followup.cost_between(case, case.delivery_started_on, today)
                        if case.delivery_started_on else None),
        "can_start_delivery": (case.stage == Stage.DELIVERY
                               and transitions.offered_to(case, current_user, Event.START_DELIVERY)),
        "can_record": followup.can_record(case, current_user),
        "can_record_supplier_side": followup.can_record_supplier_side(case, current_user),
        "ending": followup.ending(case),
        "items": [row.follow_up for row in presenters.schedule(rows, today)],
    }
    cases.log_access(current_user, case, "followup.view", "API: opfølgning")
    db.session.commit()
    return overview


@bp.route(f"/cases/<{ID}:case_id>/follow-ups/next", methods=["GET"])
@bp.response(200, NextFollowUpSchema)
def next_follow_up(case_id: int):
    """The citizen's next open follow-up, with the goals to score (404 when none is open).

    Its ETag is the If-Match of POST /cases/{case_id}/follow-ups/record.
    """
    case = load_case(case_id)
    due = found(followup.next_open(case))
    cases.log_access(current_user, case, "followup.view", "API: næste opfølgning")
    db.session.commit()
    return due, 200, etag_header("followup", due)


@bp.route(f"/cases/<{ID}:case_id>/follow-ups/record", methods=["POST"])
@bp.arguments(RecordInputSchema)
@bp.response(200, FollowUpSchema)
@bp.doc(**IF_MATCH_DOC)
def record_follow_up(data: dict, case_id: int):
    """Record the next open follow-up with its outcome (If-Match: the follow-up's ETag).

    The unit's caseworkers, while the case is in follow-up. The outcome is carried out in the process: continue
    (the next follow-up is scheduled), change within frame (a new contract version), re-assess (back to the
    needs assessment) or end (with end_date and end_reason). If-Match is the ETag of
    GET /cases/{case_id}/follow-ups/next, or the case's when no follow-up is open.
    """
    case = load_case(case_id)
    if not followup.can_record(case, current_user):
        abort(403)
    due = followup.next_open(case)
    version = case_version = None
    if due is not None:
        version = if_match("followup", due)
    else:
        case_version = if_match("case", case)
    recorded = followup.record(case, current_user, followup.FollowUpInput(
        held_on=data["held_on"], participants=data["participants"], citizen_view=data["citizen_view"],
        outcome=data["outcome"],
        scores=[followup.GoalScoreInput(score["goal_id"], score["score"], score["note"]) for score in data["scores"]],
        functional_levels=data["functional_levels"], notes=data["notes"], end_date=data["end_date"],
        end_reason=data["end_reason"]), clock.today(), version=version, case_version=case_version)
    cases.log_access(current_user, case, "followup.edit", "API: registrering af opfølgning")
    db.session.commit()
    return recorded, 200, etag_header("followup", recorded)


@bp.route("/follow-ups", methods=["GET"])
@bp.arguments(DueArgs, location="query", as_kwargs=True)
@bp.response(200, DueListSchema)
def due_follow_ups(state: str):
    """The follow-ups the user answers for that are overdue or due soon.

    The same rule as the start page and the reminders, oldest first. Cases by number only: no citizen data.
    """
    wanted = DUE_FILTERS[state]
    rows = [{"id": row.id, "kind": row.kind, "due_date": row.due_date, "state": row_state, "case": row.case}
            for row, row_state in followup.due_for(current_user, clock.today(), limit=None) if row_state in wanted]
    return {"items": rows, "soon_days": settings.get("followup_soon_days")}
