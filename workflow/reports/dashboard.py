"""The managers' portfolio dashboard: /reports."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from workflow import charts, clock
from workflow.forms import show_refusal
from workflow.i18n import day
from workflow.reports.forms import PortfolioFilterForm
from workflow.roles import Role
from workflow.security import restrict_blueprint
from workflow.services import ServiceError, portfolio

bp = Blueprint("dashboard", __name__)

restrict_blueprint(bp, Role.MANAGER, Role.ECONOMY)

# The rows each of the page's two lists shows: the most urgent follow-ups, the nearest dates. A unit can
# have thousands of either; the page says how many there are, and the PDF report lists them all.
LISTED = 50


@bp.route("/reports")
def dashboard_page():
    """The portfolio for a unit and period; bad filters answer 422 with the message and no figures."""
    form = PortfolioFilterForm(request.args)
    form.unit.choices = portfolio.unit_options(current_user)
    today = clock.today()
    try:
        filters = portfolio.parse_filters(request.args, current_user, today)
        result = portfolio.build(current_user, filters, today, contracts=False, listed=LISTED)
    except ServiceError as error:
        show_refusal(form, error)
        return render_template("reports/dashboard.html", form=form, portfolio=None, charts={},
                               export_args={}, view_functions=current_app.view_functions), 422
    form.unit.data = str(filters.unit_id or "")
    form.period_from.data, form.period_to.data = day(filters.period_from), day(filters.period_to)
    export_args = {"unit": form.unit.data, "from": form.period_from.data, "to": form.period_to.data}
    return render_template("reports/dashboard.html", form=form, portfolio=result,
                           charts=charts.portfolio_charts(result), export_args=export_args,
                           one_decimal=charts.one_decimal, view_functions=current_app.view_functions)
