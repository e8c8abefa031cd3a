"""Stages 4 and 5 on a case: /cases/<id>/contract, its approval, and /cases/<id>/contract.pdf."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflow.cases.loading import load_case
from workflow.contracts.forms import DecisionForm, RejectForm, TermsForm
from workflow.errors import render_error
from workflow.extensions import db
from workflow.forms import PlainForm, price_lines, show_refusal
from workflow.process import Event
from workflow.security import STAFF, restrict_blueprint
from workflow.services import ServiceError, StaleEdit, cases, contracts, transitions

bp = Blueprint("contracts", __name__)

restrict_blueprint(bp, *STAFF)


def _terms_input(form) -> contracts.TermsInput:
    try:
        lines = [contracts.LineInput(*line) for line in price_lines(form.lines)]
    except ValueError as error:
        raise ServiceError(_("Write the quantity as a number."), "lines") from error
    names = ("acting_municipality", "paying_municipality", "supplier_contact", "primary_service", "start_date",
             "notice_months", "payment_terms", "payment_days", "acting_ean", "acting_contact", "paying_ean",
             "further_services", "goals", "price_regulation", "duration_months", "review_date", "absence_rules",
             "documentation_duties", "data_processing", "framework_reference")
    values = {name: getattr(form, name).data for name in names}
    for name in names:
        if values[name] is None and name not in ("start_date", "duration_months", "review_date"):
            values[name] = ""
    return contracts.TermsInput(lines=lines, **values)


def _fill(form, contract) -> None:
    form.process(obj=contract)
    form.version.data = contract.version
    for entry, line in zip(form.lines, contract.lines, strict=False):
        entry.form.description.data, entry.form.unit.data = line.description, line.unit
        entry.form.unit_price.data, entry.form.quantity.data = line.unit_price, f"{line.quantity.normalize()}"
        entry.form.supplement.data = line.supplement


CONTRACT_EVENTS = (Event.SUBMIT_TERMS, Event.REVIEW_TERMS, Event.APPROVE, Event.REJECT)


def _actions(case, contract) -> dict:
    """The approval steps open to the current user's role here, allowed or with what is missing."""
    if contract is None:
        return {}
    return {step.event: step for step in transitions.steps_for(case, current_user) if step.event in CONTRACT_EVENTS}


@bp.route("/cases/<int:case_id>/contract", methods=["GET", "POST"])
def terms(case_id: int):
    case = load_case(case_id)
    contract = contracts.current(case)
    editable = contracts.can_edit(case, contract, current_user)
    form = TermsForm()
    if request.method == "GET" and contract is not None:
        _fill(form, contract)
    if request.method == "POST":
        if not editable:
            abort(403)
        if form.validate_on_submit():
            try:
                contracts.save_terms(case, contract, current_user, form.version.data, _terms_input(form))
            except StaleEdit as error:
                db.session.rollback()
                flash(error.message, "error")
                return render_template("contracts/terms.html", **_context(case, contract, form, True)), 409
            except ServiceError as error:
                db.session.rollback()
                show_refusal(form, error)
            else:
                db.session.commit()
                flash(_("The terms are saved."), "success")
                return redirect(url_for("contracts.terms", case_id=case.id))
    cases.log_access(current_user, case, "contract.view", "Kontrakt og vilkår")
    db.session.commit()
    return render_template("contracts/terms.html", **_context(case, contract, form, editable))


def _context(case, contract, form, editable) -> dict:
    all_versions = contracts.versions(case)
    return {"case": case, "contract": contract, "form": form, "editable": editable, "versions": all_versions,
            "history": contracts.history([v.id for v in all_versions]), "actions": _actions(case, contract),
            "decision_form": DecisionForm(version=case.version), "plain": PlainForm(),
            "tier": contracts.tier_for(contract.annual_cost) if contract else None,
            "eu_warning": contracts.eu_threshold_passed(contract) if contract else False,
            "status": contracts.status_of(case, contract) if contract else None,
            "can_start": contracts.can_draft(case, current_user)}


@bp.route("/cases/<int:case_id>/contract/start", methods=["POST"])
def start(case_id: int):
    case = load_case(case_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    if not contracts.can_draft(case, current_user):
        abort(403)
    try:
        contracts.draft_from_choice(case, current_user, date.today())
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The terms are drafted from the chosen reply. Check them and submit."), "success")
    return redirect(url_for("contracts.terms", case_id=case.id))


STEPS = {"submit": contracts.submit, "review": contracts.review, "approve": contracts.approve}


@bp.route("/cases/<int:case_id>/contract/<action>", methods=["POST"])
def decide_step(case_id: int, action: str):
    case = load_case(case_id)
    contract = contracts.current(case)
    if contract is None or action not in STEPS:
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        STEPS[action](case, contract, current_user, version=form.version.data)
    except StaleEdit:
        db.session.rollback()
        return render_error(409, _("Someone else changed the case in the meantime. Open it again before you go on."))
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("contracts.terms", case_id=case.id)), 303
    db.session.commit()
    flash({"submit": _("The terms are submitted for review and approval."),
           "review": _("The terms are marked as reviewed."),
           "approve": _("The terms are approved. The contract summary is archived.")}[action], "success")
    return redirect(url_for("contracts.terms", case_id=case.id))


@bp.route("/cases/<int:case_id>/contract/reject", methods=["GET", "POST"])
def reject(case_id: int):
    case = load_case(case_id)
    contract = contracts.current(case)
    if contract is None:
        abort(404)
    form = RejectForm()
    if request.method == "GET":
        form.version.data = case.version
    elif form.validate_on_submit():
        try:
            contracts.reject(case, contract, current_user, form.reason.data, version=form.version.data)
        except StaleEdit:
            db.session.rollback()
            return render_error(409, _("Someone else changed the case in the meantime."))
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The terms are rejected and back in drafting."), "success")
            return redirect(url_for("contracts.terms", case_id=case.id))
    return render_template("contracts/reject.html", case=case, contract=contract, form=form)


@bp.route("/cases/<int:case_id>/contract.pdf")
def summary_pdf(case_id: int):
    """The approved summary, byte for byte as archived; else the current draft, watermarked."""
    case = load_case(case_id)
    document = contracts.summary_document(case, draft=request.args.get("draft") == "1")
    if document is None:
        abort(404)
    body, name = document
    cases.log_access(current_user, case, "contract.pdf", "Kontraktresumé (PDF)")
    db.session.commit()
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})
