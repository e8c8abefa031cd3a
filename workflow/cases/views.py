"""The purchase case pages: lists, opening a case, the case page and its actions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflow import legal_basis
from workflow.cases import presenters
from workflow.cases.forms import (
    CaseDetailsForm,
    CommentForm,
    CprSearchForm,
    NewCaseForm,
    ReasonForm,
    StepForm,
    TeamForm,
)
from workflow.cases.loading import load_case
from workflow.errors import render_error
from workflow.extensions import db
from workflow.forms import show_refusal
from workflow.models import Role, User
from workflow.process import Event, Stage
from workflow.security import STAFF, restrict_blueprint, roles_required
from workflow.services import ServiceError, StaleEdit, case_list, cases, needs, transitions

bp = Blueprint("cases", __name__)

restrict_blueprint(bp, *STAFF)


@bp.route("/cases")
def case_list_page():
    filters = case_list.CaseFilters(
        scope=request.args.get("scope", "tasks"), status=request.args.get("status", "active"),
        stage=request.args.get("stage", ""), legal_basis=request.args.get("legal_basis", ""),
        owner_id=request.args.get("owner", type=int), acute=request.args.get("acute") == "1",
        q=request.args.get("q", ""), sort=request.args.get("sort", "changed"),
        page=request.args.get("page", 1, type=int) or 1,
    )
    result = case_list.list_cases(current_user, filters)
    cases.log_list_access(current_user, result.rows, "Sagsliste")
    page = render_template("cases/list.html", result=result, filters=filters, search_form=CprSearchForm(),
                           owners=presenters.caseworkers_of(current_user.unit_id), stage_options=list(Stage),
                           legal_basis_options=legal_basis.choices())
    db.session.commit()  # after rendering, so the rows are not expired and loaded again one by one
    return page


@bp.route("/cases/search", methods=["POST"])
def search_by_cpr():
    """CPR only ever arrives in a POST body; the answer is rendered, never redirected with it."""
    form = CprSearchForm()
    found = []
    if form.validate_on_submit():
        try:
            found = cases.find_by_cpr(current_user, form.cpr.data)
        except ServiceError as error:
            show_refusal(form, error)
        else:
            db.session.commit()
    form.cpr.data = ""  # never echo the number back into the page
    return render_template("cases/search_results.html", form=form, found=found,
                           searched=not form.errors)


@bp.route("/cases/new", methods=["GET", "POST"])
@roles_required(Role.CASEWORKER)
def new_case():
    form = NewCaseForm()
    presenters.fill_team_choices(form, current_user.unit_id, with_owner=False)
    if form.validate_on_submit():
        try:
            case = cases.open_case(
                current_user, cpr_text=form.cpr.data, citizen_name=form.citizen_name.data,
                home_municipality=form.home_municipality.data, legal_basis=form.legal_basis.data,
                target_group=form.target_group.data, acute=form.acute.data, desired_start=form.desired_start.data,
                budget_frame=form.budget_frame.data,
                procurement=db.session.get(User, form.procurement_id.data) if form.procurement_id.data else None,
                economy=db.session.get(User, form.economy_id.data) if form.economy_id.data else None)
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Case %(number)s opened. Record the needs assessment next.", number=case.number), "success")
            return redirect(url_for("cases.edit_needs", case_id=case.id))
    return render_template("cases/new.html", form=form)


@bp.route("/cases/<int:case_id>")
def case_page(case_id: int):
    case = load_case(case_id)
    html = render_template("cases/page.html", case=case, page=presenters.case_page(case, current_user),
                           comment_form=CommentForm(), step_form=StepForm(version=case.version), own_pages=OWN_PAGES)
    return _logged(html, case)


def _logged(html: str, case) -> str:
    """Log the case page's read and commit, after rendering: a commit before would expire every loaded row
    and the template would load them again one by one (and on SQLite, hold the write lock meanwhile)."""
    cases.log_access(current_user, case, "case.view", "Sagsside")
    db.session.commit()
    return html


@bp.route("/cases/<int:case_id>/cpr", methods=["POST"])
def show_cpr(case_id: int):
    case = load_case(case_id)
    if not StepForm().validate_on_submit():
        abort(400)
    try:
        full_cpr = cases.reveal_cpr(current_user, case)
    except ServiceError:
        abort(404)
    html = render_template("cases/page.html", case=case, page=presenters.case_page(case, current_user),
                           comment_form=CommentForm(), step_form=StepForm(version=case.version), full_cpr=full_cpr,
                           own_pages=OWN_PAGES)
    return _logged(html, case)


@bp.route("/cases/<int:case_id>/details", methods=["GET", "POST"])
def edit_details(case_id: int):
    case = load_case(case_id)
    if not case.can_edit_needs(current_user):
        abort(403)
    form = CaseDetailsForm(obj=case)
    if request.method == "GET":
        form.version.data = case.version
    if form.validate_on_submit():
        try:
            cases.update_details(case, version=form.version.data, legal_basis=form.legal_basis.data,
                                 target_group=form.target_group.data, acute=form.acute.data,
                                 desired_start=form.desired_start.data, budget_frame=form.budget_frame.data)
        except StaleEdit:
            db.session.rollback()
            return presenters.conflict("cases/details_form.html", form, case, case=case)
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The case details are saved."), "success")
            return redirect(url_for("cases.case_page", case_id=case.id))
    cases.log_access(current_user, case, "case.edit", "Ret sagsoplysninger")
    db.session.commit()
    return render_template("cases/details_form.html", form=form, case=case)


@bp.route("/cases/<int:case_id>/needs", methods=["GET", "POST"])
def edit_needs(case_id: int):
    case = load_case(case_id)
    if not case.can_edit_needs(current_user):
        abort(403)
    assessment = cases.current_assessment(case)
    form = presenters.needs_form(case, assessment)
    if request.method == "POST" and "add_goal" in request.form:
        form.validate()
        form.goals.append_entry()
    elif form.validate_on_submit():
        try:
            needs.save_assessment(case, assessment, version=form.version.data, data=presenters.needs_input(form))
        except StaleEdit:
            db.session.rollback()
            return presenters.conflict("cases/needs_form.html", form, assessment, case=case)
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The needs assessment is saved."), "success")
            return redirect(url_for("cases.case_page", case_id=case.id) + "#behov")
    cases.log_access(current_user, case, "needs.edit", "Behovsvurdering")
    db.session.commit()
    return render_template("cases/needs_form.html", form=form, case=case)


@bp.route("/cases/<int:case_id>/team", methods=["GET", "POST"])
def edit_team(case_id: int):
    case = load_case(case_id)
    if not case.can_manage_team(current_user):
        abort(403)
    form = TeamForm(obj=case)
    presenters.fill_team_choices(form, case.unit_id, with_owner=True)
    if request.method == "GET":
        form.version.data = case.version
    if form.validate_on_submit():
        try:
            cases.assign_team(
                case, version=form.version.data, owner=db.session.get(User, form.owner_id.data),
                procurement=db.session.get(User, form.procurement_id.data) if form.procurement_id.data else None,
                economy=db.session.get(User, form.economy_id.data) if form.economy_id.data else None)
        except StaleEdit:
            db.session.rollback()
            return presenters.conflict("cases/team_form.html", form, case, case=case)
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The team is saved."), "success")
            return redirect(url_for("cases.case_page", case_id=case.id))
    return render_template("cases/team_form.html", form=form, case=case)


@bp.route("/cases/<int:case_id>/comments", methods=["POST"])
def add_comment(case_id: int):
    case = load_case(case_id)
    form = CommentForm()
    if form.validate_on_submit():
        cases.add_comment(case, current_user, form.body.data)
        db.session.commit()
        flash(_("Your comment is added."), "success")
    else:
        flash(_("Write a comment."), "error")
    return redirect(url_for("cases.case_page", case_id=case.id) + "#kommentarer")


REASON_EVENTS = {Event.CANCEL}
# Steps taken on their own pages, where the service also changes what the step is about.
OWN_PAGES = {
    Event.CHOOSE_SUPPLIER: "dialogue.comparison",
    Event.SUBMIT_TERMS: "contracts.terms",
    Event.REVIEW_TERMS: "contracts.terms",
    Event.APPROVE: "contracts.terms",
    Event.REJECT: "contracts.reject",
    Event.START_DELIVERY: "followup.delivery",
    Event.CONTINUE: "followup.record",
    Event.CHANGE_WITHIN_FRAME: "followup.record",
    Event.REASSESS: "followup.record",
    Event.END: "followup.record",
}


@bp.route("/cases/<int:case_id>/steps/<event>", methods=["GET", "POST"])
def take_step(case_id: int, event: str):
    case = load_case(case_id)
    try:
        step = Event(event)
    except ValueError:
        abort(404)
    if step in OWN_PAGES:
        return redirect(url_for(OWN_PAGES[step], case_id=case.id))
    form = ReasonForm() if step in REASON_EVENTS else StepForm()
    if request.method == "GET":
        if step not in REASON_EVENTS:
            return redirect(url_for("cases.case_page", case_id=case.id))
        form.version.data = case.version
        return render_template("cases/reason_form.html", form=form, case=case, step=step)
    if form.validate_on_submit():
        try:
            transitions.take_step(case, step, current_user, version=form.version.data,
                                  reason=form.reason.data if step in REASON_EVENTS else "")
        except StaleEdit:
            db.session.rollback()
            return render_error(409, _("Someone else changed the case in the meantime. "
                                       "Open the case again to see the change before you go on."))
        except ServiceError as error:
            db.session.rollback()
            if step in REASON_EVENTS:
                show_refusal(form, error)
                return render_template("cases/reason_form.html", form=form, case=case, step=step), 422
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Done: %(step)s.", step=step.label), "success")
    elif step in REASON_EVENTS:
        return render_template("cases/reason_form.html", form=form, case=case, step=step), 422
    return redirect(url_for("cases.case_page", case_id=case.id))
