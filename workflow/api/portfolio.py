"""/api/v1/portfolio: the dashboard's figures for a unit and period (managers and economy)."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from workflow import clock
from workflow.api.base import ApiSchema, blueprint
from workflow.api.fields import Day, Money, Text
from workflow.process import PROCESS_STAGES
from workflow.security import restrict_blueprint
from workflow.services import ServiceError, portfolio
from workflow.services.followup import OPEN_STATES

bp = blueprint("portfolio", "The portfolio dashboard's figures: active contracts and their annual cost, follow-ups "
                            "and stages, for a unit and period.")

restrict_blueprint(bp, *portfolio.ROLES)   # as the dashboard: managers and economy

# The service names the dashboard form's fields; the API's query arguments are called unit, from and to.
QUERY_FIELDS = {"period_from": "from", "period_to": "to"}


class PortfolioArgs(ApiSchema):
    unit = Text(20, load_default=None, metadata={
        "description": "A unit's id. Managers: their own unit only (the default). Economy: any unit; empty or "
                       "left out means all the cases they are on."})
    period_from = Day(data_key="from", load_default=None,
                      metadata={"description": "Default: 12 months before the end of the period."})
    period_to = Day(data_key="to", load_default=None, metadata={"description": "Default: today."})


class GroupTotalSchema(ApiSchema):
    name = ma.fields.String()
    contracts = ma.fields.Integer()
    annual_cost = Money()


class FollowUpFiguresSchema(ApiSchema):
    held_on_time = ma.fields.Integer(metadata={"description": "Held in the period on or before the due date."})
    held_late = ma.fields.Integer(metadata={"description": "Held in the period after the due date."})
    overdue = ma.fields.Integer(metadata={"description": "Open now and due before today."})
    due_soon = ma.fields.Integer(metadata={"description": "Open now and due today or within soon_days."})
    soon_days = ma.fields.Integer()


class StageFiguresSchema(ApiSchema):
    stage = ma.fields.String(metadata={"enum": [str(stage) for stage in PROCESS_STAGES]})
    label = ma.fields.String()
    open_cases = ma.fields.Integer(metadata={"description": "Open cases in the stage now."})
    average_days = ma.fields.Decimal(
        places=1, as_string=True, allow_none=True,
        metadata={"type": "string", "format": "decimal", "pattern": r"^\d+(\.\d)?$",
                  "description": "Average days of the stays in the stage that ended in the period (null: none)."})


class OpenFollowUpSchema(ApiSchema):
    case_id = ma.fields.Integer()
    case_number = ma.fields.String()
    unit_name = ma.fields.String()
    kind = ma.fields.String()
    due_date = ma.fields.Date()
    state = ma.fields.String(metadata={"enum": list(OPEN_STATES)})
    responsible = ma.fields.String()


class NearContractSchema(ApiSchema):
    case_id = ma.fields.Integer()
    case_number = ma.fields.String()
    supplier_name = ma.fields.String()
    legal_basis = ma.fields.String()
    legal_basis_label = ma.fields.String()
    notice_date = ma.fields.Date(allow_none=True)
    review_date = ma.fields.Date(allow_none=True)
    annual_cost = Money()


class PortfolioSchema(ApiSchema):
    unit_id = ma.fields.Integer(allow_none=True)
    unit_name = ma.fields.String(allow_none=True, metadata={"description": "null: all the user's cases."})
    period_from = ma.fields.Date()
    period_to = ma.fields.Date()
    today = ma.fields.Date()
    active_contracts = ma.fields.Integer(metadata={"description": "Contracts active in the period."})
    annual_total = Money(metadata={"description": "Annual cost of the active contracts."})
    list_total = Money(metadata={"description": "Sum of the known list prices."})
    with_list_price = ma.fields.Integer(metadata={"description": "Active contracts whose list price is known."})
    savings = Money(metadata={"description": "List price minus annual cost, over the contracts whose list price "
                                             "is known (negative: paid more)."})
    by_legal_basis = ma.fields.List(ma.fields.Nested(GroupTotalSchema), metadata={"description": "Largest first."})
    by_supplier = ma.fields.List(ma.fields.Nested(GroupTotalSchema), metadata={"description": "Largest first."})
    by_unit = ma.fields.List(ma.fields.Nested(GroupTotalSchema), metadata={"description": "Largest first."})
    follow_ups = ma.fields.Nested(FollowUpFiguresSchema)
    stages = ma.fields.List(ma.fields.Nested(StageFiguresSchema))
    open_follow_ups = ma.fields.List(ma.fields.Nested(OpenFollowUpSchema),
                                     metadata={"description": "Open follow-ups overdue or due soon, by due date."})
    near_until = ma.fields.Date()
    near_dates = ma.fields.List(ma.fields.Nested(NearContractSchema),
                                metadata={"description": "Running contracts whose review or notice date falls "
                                                         "from today to near_until."})


def _groups(rows: list[tuple]) -> list[dict]:
    return [{"name": name, "contracts": count, "annual_cost": cost} for name, count, cost in rows]


def _figures(result: portfolio.Portfolio) -> dict:
    """The dashboard's figures, named for the API."""
    return {
        "unit_id": result.filters.unit_id, "unit_name": result.unit_name,
        "period_from": result.filters.period_from, "period_to": result.filters.period_to, "today": result.today,
        "active_contracts": result.active_contracts, "annual_total": result.annual_total,
        "list_total": result.list_total, "with_list_price": result.with_list_price, "savings": result.savings,
        "by_legal_basis": _groups(result.by_legal_basis), "by_supplier": _groups(result.by_supplier),
        "by_unit": _groups(result.by_unit),
        "follow_ups": {"held_on_time": result.followups_on_time, "held_late": result.followups_late,
                       "overdue": result.followups_overdue, "due_soon": result.followups_soon,
                       "soon_days": result.soon_days},
        "stages": [{"stage": stage, "label": label, "open_cases": count, "average_days": average}
                   for stage, label, count, average in result.stages],
        "open_follow_ups": result.overdue, "near_until": result.near_until, "near_dates": result.near_dates,
    }


@bp.route("/portfolio", methods=["GET"])
@bp.arguments(PortfolioArgs, location="query")
@bp.response(200, PortfolioSchema)
def read_portfolio(args: dict):
    """The portfolio dashboard's figures for a unit and period (managers and economy).

    The cases the user may see: a manager's unit, or the cases economy is on. Money as exact decimal strings.
    No citizen data.
    """
    today = clock.today()
    query = {"unit": args["unit"],
             "from": args["period_from"].isoformat() if args["period_from"] else None,
             "to": args["period_to"].isoformat() if args["period_to"] else None}
    try:
        filters = portfolio.parse_filters(query, current_user, today)
        result = portfolio.build(current_user, filters, today, contracts=False)   # the figures, not each contract
    except ServiceError as error:
        raise ServiceError(error.message, QUERY_FIELDS.get(error.field, error.field)) from None
    return _figures(result)
