"""The portfolio as a PDF report, CSV and XLSX: /reports/followup.pdf, /reports/portfolio.csv|xlsx.

The same query arguments as the dashboard (unit, from, to). The files are Danish documents, whatever
the user's language, like the contract summary. Each download writes an audit event.
"""
from __future__ import annotations

from flask import Blueprint, Response, request
from flask_babel import force_locale
from flask_login import current_user

from workflow import charts, clock
from workflow.errors import render_error
from workflow.extensions import db
from workflow.roles import Role
from workflow.security import restrict_blueprint
from workflow.services import ServiceError, portfolio, portfolio_export, portfolio_pdf

bp = Blueprint("exports", __name__)

restrict_blueprint(bp, Role.MANAGER, Role.ECONOMY)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(kind: str, make, mimetype: str, disposition: str = "attachment"):
    """Build the portfolio of the query's filters, make the file, record the download; 422 for bad filters."""
    user = current_user._get_current_object()
    today = clock.today()
    try:
        filters = portfolio.parse_filters(request.args, user, today)
    except ServiceError as error:
        return render_error(422, error.message)
    with force_locale("da"):
        built = portfolio.build(user, filters, today)
        body = make(built)
    portfolio_export.record_export(built, kind, user)
    db.session.commit()
    name = portfolio_export.filename(built, kind)
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'{disposition}; filename="{name}"'})


@bp.route("/reports/followup.pdf", endpoint="portfolio_pdf")
def portfolio_report():
    """The portfolio report: figures, charts, overdue follow-ups, contracts near their dates, all active contracts."""
    return _download("pdf", lambda built: portfolio_pdf.render(built, charts.portfolio_charts(built)),
                     "application/pdf", disposition="inline")


@bp.route("/reports/portfolio.csv")
def portfolio_csv():
    return _download("csv", portfolio_export.csv_bytes, "text/csv")


@bp.route("/reports/portfolio.xlsx")
def portfolio_xlsx():
    return _download("xlsx", portfolio_export.xlsx_bytes, XLSX_MIMETYPE)
