"""The start page for each role, and the health check."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import text

from workflow import clock
from workflow.extensions import db
from workflow.models import Role
from workflow.security import public
from workflow.services import case_list, cases, followup

bp = Blueprint("main", __name__)

ROLE_WORK = {
    Role.CASEWORKER: _l("You own the citizen's case: the needs assessment and decision, the market scan "
                        "with procurement, and the follow-ups once the placement has started."),
    Role.PROCUREMENT: _l("You lead the supplier dialogue and the contract terms, and help with the market scan."),
    Role.ECONOMY: _l("You check prices and budgets on the contract terms and follow the spending."),
    Role.MANAGER: _l("You approve contracts within your approval limit and follow the portfolio."),
    Role.ADMIN: _l("You manage users, units and settings."),
}


@bp.route("/")
def start():
    tasks, follow_ups = None, []
    if current_user.role != Role.ADMIN:
        tasks = case_list.list_cases(current_user, case_list.CaseFilters(scope="tasks"), page_size=10)
        cases.log_list_access(current_user, tasks.rows, "Opgaver på forsiden")
        follow_ups = followup.due_for(current_user, clock.today())
    page = render_template("main/start.html", role_description=ROLE_WORK[Role(current_user.role)], tasks=tasks,
                           follow_ups=follow_ups)
    db.session.commit()  # the task list's access-log rows, after rendering (see cases.case_list_page)
    return page


@bp.route("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
