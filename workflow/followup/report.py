"""The case's follow-up report as PDF: /cases/<id>/followup.pdf."""
from __future__ import annotations

from flask import Blueprint, Response, abort
from flask_login import current_user

from workflow import clock
from workflow.cases.loading import load_case
from workflow.extensions import db
from workflow.security import STAFF, restrict_blueprint
from workflow.services import cases, followup_pdf

bp = Blueprint("followup_report", __name__)

restrict_blueprint(bp, *STAFF)


@bp.route("/cases/<int:case_id>/followup.pdf")
def case_report(case_id: int):
    """The report for those who see the case; there is nothing to report before the delivery started."""
    case = load_case(case_id)
    if case.delivery_started_on is None:
        abort(404)
    body = followup_pdf.render(case, clock.today())
    cases.log_access(current_user, case, "followup.pdf", "Opfølgningsrapport (PDF)")
    db.session.commit()
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{case.number}-opfoelgning.pdf"'})
