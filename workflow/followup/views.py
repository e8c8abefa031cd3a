"""Stages 6 to 8 on a case: start of delivery, follow-ups (citizen and supplier side), ending."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflow import clock
from workflow.cases.forms import StepForm
from workflow.cases.loading import load_case, load_of_case
from workflow.errors import render_error
from workflow.extensions import db
from workflow.followup import presenters
from workflow.followup.forms import DeliveryForm, EndingForm, FollowUpForm, SupplierSideForm
from workflow.forms import DONE, STALE, carry_out
from workflow.models import FollowUp
from workflow.process import Event, Stage
from workflow.security import STAFF, restrict_blueprint
from workflow.services import cases, contracts, followup, transitions
from workflow.vum import THEME_LABELS

bp = Blueprint("followup", __name__)

restrict_blueprint(bp, *STAFF)


def _stale():
    return render_error(409, _("Someone else changed the case in the meantime. "
                               "Open it again to see the change before you go on."))


@bp.route("/cases/<int:case_id>/delivery", methods=["GET", "POST"])
def delivery(case_id: int):
    case = load_case(case_id)
    if case.stage != Stage.DELIVERY:
        return redirect(url_for("followup.overview", case_id=case.id))
    if not transitions.offered_to(case, current_user, Event.START_DELIVERY):
        abort(403)
    contract = contracts.in_force(case)
    today = clock.today()
    form = DeliveryForm()
    if request.method == "GET":
        form.version.data = case.version
        if contract and contract.start_date and contract.start_date <= today:
            form.started_on.data = contract.start_date
    elif form.validate_on_submit():
        outcome = carry_out(form, lambda: followup.start_delivery(case, current_user, form.started_on.data, today,
                                                                  version=form.version.data))
        if outcome == STALE:
            return _stale()
        if outcome == DONE:
            flash(_("The start of delivery is recorded and the follow-ups are scheduled."), "success")
            return redirect(url_for("followup.overview", case_id=case.id))
    status = 422 if form.errors else 200
    return render_template("followup/delivery.html", case=case, contract=contract, form=form), status


@bp.route("/cases/<int:case_id>/followup")
def overview(case_id: int):
    case = load_case(case_id)
    today = clock.today()
    rows = followup.follow_ups(case)
    cases.log_access(current_user, case, "followup.view", "Opfølgning")
    db.session.commit()
    return render_template(
        "followup/overview.html", case=case, today=today, schedule=presenters.schedule(rows, today),
        goals=presenters.goals_over_time(rows), contract=contracts.in_force(case), ending=followup.ending(case),
        can_record=followup.can_record(case, current_user),
        can_record_supplier=followup.can_record_supplier_side(case, current_user),
        can_start=case.stage == Stage.DELIVERY and transitions.offered_to(case, current_user, Event.START_DELIVERY),
        cost_so_far=(followup.cost_between(case, case.delivery_started_on, today)
                     if case.delivery_started_on else None),
        theme_labels=THEME_LABELS)


@bp.route("/cases/<int:case_id>/followup/record", methods=["GET", "POST"])
def record(case_id: int):
    case = load_case(case_id)
    if not followup.can_record(case, current_user):
        abort(403)
    today = clock.today()
    due = followup.next_open(case)
    form = FollowUpForm()
    if request.method == "GET":
        form.version.data = due.version if due else None
        form.case_version.data = case.version
        form.held_on.data = today
    presenters.fill_record_form(form, case)
    rows = followup.follow_ups(case)
    if request.method == "POST" and form.validate_on_submit():
        outcome = carry_out(form, lambda: followup.record(case, current_user, presenters.record_input(form), today,
                                                          version=form.version.data,
                                                          case_version=form.case_version.data))
        if outcome == STALE:
            return _stale()
        if outcome == DONE:
            return _after_outcome(case, form.outcome.data)
    cases.log_access(current_user, case, "followup.edit", "Registrér opfølgning")
    db.session.commit()
    status = 422 if form.errors else 200
    return render_template("followup/record.html", case=case, form=form, due=due, today=today,
                           due_state=followup.state_of(due, today) if due else None,
                           goals=presenters.goal_labels(case), levels=presenters.current_levels(case, rows),
                           theme_labels=THEME_LABELS), status


def _after_outcome(case, outcome: str):
    """Where the caseworker goes next: the outcome decides what happens to the case."""
    if outcome == "change_within_frame":
        flash(_("The follow-up is recorded. A new contract version is drafted: procurement changes the terms "
                "and sends them for approval."), "success")
        return redirect(url_for("followup.overview", case_id=case.id))
    if outcome == "reassess":
        flash(_("The follow-up is recorded. The case is back at the needs assessment, pre-filled from the "
                "earlier one."), "success")
        return redirect(url_for("cases.edit_needs", case_id=case.id))
    if outcome == "end":
        flash(_("The follow-up is recorded. Check the ending: end date, notice and final cost."), "success")
        return redirect(url_for("followup.ending_page", case_id=case.id))
    flash(_("The follow-up is recorded and the next one is scheduled."), "success")
    return redirect(url_for("followup.overview", case_id=case.id))


@bp.route("/cases/<int:case_id>/followup/<int:follow_up_id>/supplier", methods=["GET", "POST"])
def supplier_side(case_id: int, follow_up_id: int):
    case = load_case(case_id)
    follow_up = load_of_case(FollowUp, follow_up_id, case)
    if not followup.can_record_supplier_side(case, current_user) or follow_up.cancelled_on is not None:
        abort(403)
    today = clock.today()
    form = SupplierSideForm()
    if request.method == "GET":
        form.process(obj=follow_up)
        form.version.data = follow_up.version
        if follow_up.reports_received is not None:
            form.reports_received.data = "yes" if follow_up.reports_received else "no"
        if follow_up.kind == "supplier_review" and follow_up.held_on is None:
            form.held_on.data = today
    elif form.validate_on_submit():
        outcome = carry_out(form, lambda: followup.record_supplier_side(
            case, follow_up, current_user, presenters.supplier_input(form), today, version=form.version.data))
        if outcome == STALE:
            return _stale()
        if outcome == DONE:
            flash(_("The supplier side is recorded."), "success")
            return redirect(url_for("followup.overview", case_id=case.id))
    status = 422 if form.errors else 200
    return render_template("followup/supplier_side.html", case=case, follow_up=follow_up, form=form,
                           state=followup.state_of(follow_up, today)), status


@bp.route("/cases/<int:case_id>/ending", methods=["GET", "POST"])
def ending_page(case_id: int):
    case = load_case(case_id)
    ending = followup.ending(case)
    if ending is None:
        abort(404)
    editable = followup.can_edit_ending(case, current_user)
    form = EndingForm()
    if request.method == "GET":
        form.process(obj=ending)
        form.version.data = ending.version
        if ending.final_cost is None:
            form.final_cost.data = ending.computed_cost
    elif not editable:
        abort(403)
    elif form.validate_on_submit():
        outcome = carry_out(form, lambda: followup.save_ending(case, current_user, followup.EndingInput(
            end_date=form.end_date.data, reason=form.reason.data or "", final_cost=form.final_cost.data,
            notice_given_on=form.notice_given_on.data), version=form.version.data))
        if outcome == STALE:
            return _stale()
        if outcome == DONE:
            flash(_("The ending is saved."), "success")
            return redirect(url_for("followup.ending_page", case_id=case.id))
    close = next((step for step in transitions.steps_for(case, current_user) if step.event == Event.CLOSE), None)
    status = 422 if form.errors else 200
    return render_template("followup/ending.html", case=case, ending=ending, form=form, editable=editable,
                           close=close, step_form=StepForm(version=case.version),
                           contract=contracts.in_force(case)), status
