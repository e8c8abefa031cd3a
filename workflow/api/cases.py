"""/api/v1/cases: the case list, opening a case, reading it, its needs assessment and its steps."""
from __future__ import annotations

import marshmallow as ma
from flask import abort, after_this_request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflow import legal_basis
from workflow.api.base import (
    ID,
    IF_MATCH_DOC,
    ApiSchema,
    PageSchema,
    blueprint,
    etag_header,
    found,
    if_match,
    listed,
)
from workflow.api.fields import Count, Day, Money, Text
from workflow.cases.loading import load_case
from workflow.extensions import db
from workflow.models import Role, User
from workflow.process import Event, Stage
from workflow.services import case_list, cases, needs, transitions
from workflow.services.errors import ServiceError
from workflow.vocabulary import TARGET_GROUP_LABELS
from workflow.vum import GOAL_TYPE_LABELS, SUPPORT_NEED_LABELS, THEME_LABELS

bp = blueprint("cases", "Purchase cases: list, open, read, the needs assessment and the steps of the process.")

# Steps that belong to a use case of their own, which also changes what the step is about.
OWN_ENDPOINTS = {
    Event.CHOOSE_SUPPLIER: "POST /cases/{id}/choice",
    Event.SUBMIT_TERMS: "POST /cases/{id}/contract/submit",
    Event.REVIEW_TERMS: "POST /cases/{id}/contract/review",
    Event.APPROVE: "POST /cases/{id}/contract/approve",
    Event.REJECT: "POST /cases/{id}/contract/reject",
    Event.START_DELIVERY: "POST /cases/{id}/delivery",
    Event.CONTINUE: "POST /cases/{id}/follow-ups/record",
    Event.CHANGE_WITHIN_FRAME: "POST /cases/{id}/follow-ups/record",
    Event.REASSESS: "POST /cases/{id}/follow-ups/record",
    Event.END: "POST /cases/{id}/follow-ups/record",
}


class PersonSchema(ApiSchema):
    id = ma.fields.Integer()
    name = ma.fields.String(attribute="full_name")


class CaseSummarySchema(ApiSchema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    stage = ma.fields.String(metadata={"enum": [str(stage) for stage in Stage]})
    legal_basis = ma.fields.String()
    target_group = ma.fields.String()
    acute = ma.fields.Boolean()
    citizen_name = ma.fields.String(attribute="citizen.display_name")
    owner = ma.fields.Nested(PersonSchema)
    desired_start = ma.fields.Date(allow_none=True)
    changed_at = ma.fields.DateTime()


class CasePageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(CaseSummarySchema), attribute="rows")
    stage_counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class CitizenSchema(ApiSchema):
    name = ma.fields.String(attribute="display_name")
    cpr_masked = ma.fields.String(metadata={
        "description": "DDMMYY-xxxx; the full number is never sent. \"Anonymised\" (in the answer's language) once "
                       "retention has anonymised the citizen, as is `name`."})
    home_municipality = ma.fields.String()


class StepSchema(ApiSchema):
    event = ma.fields.String()
    label = ma.fields.Function(lambda step: step.event.label, metadata={"type": "string"})
    allowed = ma.fields.Boolean()
    target = ma.fields.String(allow_none=True)
    missing = ma.fields.List(ma.fields.String(), attribute="refusals")
    warnings = ma.fields.List(ma.fields.String())
    endpoint = ma.fields.Function(lambda step: OWN_ENDPOINTS.get(step.event, f"POST /cases/{{id}}/steps/{step.event}"),
                                  metadata={"type": "string", "description": "Where the step is taken."})


class CaseSchema(CaseSummarySchema):
    citizen = ma.fields.Nested(CitizenSchema)
    unit = ma.fields.String(attribute="unit.name")
    procurement = ma.fields.Nested(PersonSchema, allow_none=True)
    economy = ma.fields.Nested(PersonSchema, allow_none=True)
    budget_frame = Money(allow_none=True)
    delivery_started_on = ma.fields.Date(allow_none=True)
    created_at = ma.fields.DateTime()
    version = ma.fields.Integer()
    steps = ma.fields.Method("_steps", metadata={
        "type": "array", "items": listed("Step"),
        "description": "The next steps open to the user's role, each allowed or with what is missing."})

    def _steps(self, case):
        return StepSchema(many=True).dump(transitions.steps_for(case, current_user))


class CaseListArgs(ApiSchema):
    scope = ma.fields.String(load_default="tasks", validate=ma.validate.OneOf(case_list.SCOPES))
    status = ma.fields.String(load_default="active", validate=ma.validate.OneOf(case_list.STATUSES))
    stage = ma.fields.String(load_default="", validate=ma.validate.OneOf(["", *(str(s) for s in Stage)]))
    legal_basis = ma.fields.String(load_default="", validate=ma.validate.OneOf(["", *legal_basis.BY_CODE]))
    owner = Count(minimum=1, maximum=2_147_483_647, load_default=None)
    acute = ma.fields.Boolean(load_default=False)
    q = Text(100, load_default="")
    sort = ma.fields.String(load_default="changed", validate=ma.validate.OneOf(list(case_list.SORTS)))
    page = Count(minimum=1, maximum=100_000, load_default=1)
    page_size = Count(minimum=1, maximum=100, load_default=case_list.PAGE_SIZE)


class NewCaseSchema(ApiSchema):
    cpr = Text(20, required=True, blank=False, metadata={"description": "DDMMYY-SSSS; sent only in the body."})
    citizen_name = Text(200, required=True, blank=False)
    home_municipality = Text(10, required=True, blank=False, metadata={"description": "Municipality code, e.g. 101."})
    legal_basis = ma.fields.String(required=True, validate=ma.validate.OneOf(list(legal_basis.BY_CODE)))
    target_group = ma.fields.String(required=True, validate=ma.validate.OneOf(list(TARGET_GROUP_LABELS)))
    acute = ma.fields.Boolean(load_default=False)
    desired_start = Day(load_default=None, allow_none=True)
    budget_frame = Money(load_default=None, allow_none=True)
    procurement_id = Count(minimum=1, maximum=2_147_483_647, load_default=None, allow_none=True)
    economy_id = Count(minimum=1, maximum=2_147_483_647, load_default=None, allow_none=True)


class ThemeSchema(ApiSchema):
    code = ma.fields.String(required=True, validate=ma.validate.OneOf(list(THEME_LABELS)))
    level = Count(minimum=0, maximum=4, allow_none=True, load_default=None)
    narrative = Text(5000, load_default="")


class GoalSchema(ApiSchema):
    goal_type = ma.fields.String(required=True, validate=ma.validate.OneOf(list(GOAL_TYPE_LABELS)))
    text = Text(2000, required=True, blank=False)
    measure = Text(2000, load_default="", allow_none=True)


class NeedsSchema(ApiSchema):
    support_need = ma.fields.String(allow_none=True, load_default=None,
                                    validate=ma.validate.OneOf(list(SUPPORT_NEED_LABELS)))
    expected_duration = Text(200, load_default="", allow_none=True)
    wishes = Text(5000, load_default="", allow_none=True)
    special_conditions = Text(5000, load_default="", allow_none=True)
    required_hours_per_week = Count(minimum=0, maximum=168, allow_none=True, load_default=None)
    consent_to_contact_suppliers = ma.fields.Boolean(load_default=False)
    consent_date = Day(allow_none=True, load_default=None)
    child_investigation_date = Day(allow_none=True, load_default=None)
    decision_date = Day(allow_none=True, load_default=None)
    decided_by_id = Count(minimum=1, maximum=2_147_483_647, allow_none=True, load_default=None)
    themes = ma.fields.List(ma.fields.Nested(ThemeSchema), load_default=list, validate=ma.validate.Length(max=20))
    goals = ma.fields.List(ma.fields.Nested(GoalSchema), load_default=list, validate=ma.validate.Length(max=50))


class NeedsReadSchema(NeedsSchema):
    sequence = ma.fields.Integer()
    version = ma.fields.Integer()
    themes = ma.fields.Method("_themes", metadata={"type": "array", "items": listed("Theme")})
    goals = ma.fields.Method("_goals", metadata={"type": "array", "items": listed("Goal")})

    def _themes(self, assessment):
        return [{"code": theme.theme, "level": theme.level, "narrative": theme.narrative or ""}
                for theme in assessment.themes]

    def _goals(self, assessment):
        return [{"goal_type": goal.goal_type, "text": goal.text, "measure": goal.measure or ""}
                for goal in assessment.goals]


class StepInputSchema(ApiSchema):
    reason = Text(2000, load_default="")


def _colleague(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id else None


@bp.route("/cases", methods=["GET"])
@bp.arguments(CaseListArgs, location="query", as_kwargs=True)
@bp.response(200, CasePageSchema)
def list_cases(page_size: int, owner: int | None, **filters):
    """The cases the user may see: their tasks, their own cases or the unit's, filtered and in pages."""
    result = case_list.list_cases(current_user, case_list.CaseFilters(owner_id=owner, **filters), page_size=page_size)
    result.page_size = page_size
    cases.log_list_access(current_user, result.rows, "API: sagsliste")

    @after_this_request
    def commit_the_log(response):  # after serialising, so the rows are not loaded again one by one
        db.session.commit()
        return response
    return result


@bp.route("/cases", methods=["POST"])
@bp.arguments(NewCaseSchema)
@bp.response(201, CaseSchema)
def open_case(data: dict):
    """Open a purchase case for a citizen (caseworkers). The CPR number goes in the body, never in a URL."""
    if current_user.role != Role.CASEWORKER:
        abort(403)
    case = cases.open_case(
        current_user, cpr_text=data["cpr"], citizen_name=data["citizen_name"],
        home_municipality=data["home_municipality"], legal_basis=data["legal_basis"],
        target_group=data["target_group"], acute=data["acute"], desired_start=data["desired_start"],
        budget_frame=data["budget_frame"], procurement=_colleague(data["procurement_id"]),
        economy=_colleague(data["economy_id"]))
    cases.log_access(current_user, case, "case.create", "API: oprettelse af sag")
    db.session.commit()
    return case, 201, {**etag_header("case", case), "Location": url_for("api_cases.read_case", case_id=case.id)}


@bp.route(f"/cases/<{ID}:case_id>", methods=["GET"])
@bp.response(200, CaseSchema)
def read_case(case_id: int):
    """One case with its team and the next steps open to the user (each allowed or with what is missing)."""
    case = load_case(case_id)
    cases.log_access(current_user, case, "case.view", "API: sagsoplysninger")
    db.session.commit()
    return case, 200, etag_header("case", case)


@bp.route(f"/cases/<{ID}:case_id>/needs", methods=["GET"])
@bp.response(200, NeedsReadSchema)
def read_needs(case_id: int):
    """The current needs assessment: functional levels (VUM), goals, consent and decision."""
    case = load_case(case_id)
    assessment = found(cases.current_assessment(case))
    cases.log_access(current_user, case, "needs.view", "API: behovsvurdering")
    db.session.commit()
    return assessment, 200, etag_header("needs", assessment)


@bp.route(f"/cases/<{ID}:case_id>/needs", methods=["PUT"])
@bp.arguments(NeedsSchema)
@bp.response(200, NeedsReadSchema)
@bp.doc(**IF_MATCH_DOC)
def update_needs(data: dict, case_id: int):
    """Replace the needs assessment (the case's caseworkers, in the needs stage). Send If-Match."""
    case = load_case(case_id)
    if not case.can_edit_needs(current_user):
        abort(403)
    assessment = found(cases.current_assessment(case))
    version = if_match("needs", assessment)
    themes = {theme["code"]: (theme["level"], theme["narrative"]) for theme in data["themes"]}
    decided_by = _colleague(data["decided_by_id"])
    if data["decided_by_id"] and decided_by is None:
        raise ServiceError(_("The decision is made by a caseworker or manager of the case's unit."), "decided_by_id")
    needs.save_assessment(case, assessment, version=version, data=needs.AssessmentInput(
        support_need=data["support_need"], expected_duration=data["expected_duration"] or "",
        wishes=data["wishes"] or "", special_conditions=data["special_conditions"] or "",
        required_hours_per_week=data["required_hours_per_week"],
        consent_to_contact_suppliers=data["consent_to_contact_suppliers"], consent_date=data["consent_date"],
        child_investigation_date=data["child_investigation_date"], decision_date=data["decision_date"],
        decided_by=decided_by, themes=themes,
        goals=[needs.GoalInput(goal["goal_type"], goal["text"], goal["measure"] or "") for goal in data["goals"]]))
    cases.log_access(current_user, case, "needs.edit", "API: behovsvurdering")
    db.session.commit()
    return assessment, 200, etag_header("needs", assessment)


@bp.route(f"/cases/<{ID}:case_id>/steps/<any({','.join(Event)}):event>", methods=["POST"])
@bp.arguments(StepInputSchema)
@bp.response(200, CaseSchema)
@bp.doc(**IF_MATCH_DOC)
def take_step(data: dict, case_id: int, event: str):
    """Take a step of the process (hand over, start the dialogue, cancel with a reason, close). Send If-Match."""
    case = load_case(case_id)
    step = Event(event)
    if step in OWN_ENDPOINTS:
        raise ServiceError(_("%(step)s is done with %(endpoint)s.", step=step.label,
                             endpoint=OWN_ENDPOINTS[step].replace("{id}", str(case.id))))
    version = if_match("case", case)
    transitions.take_step(case, step, current_user, version=version, reason=data["reason"])
    db.session.commit()
    return case, 200, etag_header("case", case)

