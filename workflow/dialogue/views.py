"""Stage 3 on a case, for staff: /cases/<id>/dialogue and the pages below it."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflow.cases.loading import load_case, load_of_case
from workflow.dialogue.forms import ChooseForm, ManualReplyForm, NoteForm, RequirementForm, SendForm
from workflow.extensions import db
from workflow.forms import PlainForm, price_lines, show_refusal
from workflow.models import Inquiry
from workflow.security import STAFF, restrict_blueprint
from workflow.services import ServiceError, StaleEdit, cases, dialogue, mail, shortlist

bp = Blueprint("dialogue", __name__)

restrict_blueprint(bp, *STAFF)


def reply_input(form) -> dialogue.ReplyInput:
    """The reply form's data; empty price lines are left out. Shared with the supplier's page."""
    try:
        lines = [dialogue.PriceLineInput(description, unit, price, quantity)
                 for description, unit, price, quantity, _supplement in price_lines(form.lines)]
    except ValueError as error:
        raise ServiceError(_("Write the quantity as a number."), "lines") from error
    return dialogue.ReplyInput(
        can_deliver=form.can_deliver.data == "yes", earliest_start=form.earliest_start.data, lines=lines,
        additional_services=form.additional_services.data or "", conditions=form.conditions.data or "",
        contact_name=form.contact_name.data or "", contact_email=form.contact_email.data or "",
        contact_phone=form.contact_phone.data or "")



@bp.route("/cases/<int:case_id>/dialogue")
def overview(case_id: int):
    case = load_case(case_id)
    today = date.today()
    req = dialogue.requirement(case)
    asked = dialogue.inquiries(case)
    asked_ids = {inquiry.offer_id for inquiry in asked}
    send_form = SendForm(deadline=dialogue.default_deadline(today))
    send_form.offers.choices = [(entry.offer_id, f"{entry.offer.name} ({entry.offer.supplier.name})")
                                for entry in shortlist.entries(case) if entry.offer_id not in asked_ids]
    send_form.offers.data = [value for value, _label in send_form.offers.choices]
    cases.log_access(current_user, case, "dialogue.view", "Leverandørdialog")
    db.session.commit()
    return render_template("dialogue/overview.html", case=case, requirement=req, inquiries=asked, today=today,
                           send_form=send_form, can_lead=dialogue.can_lead_dialogue(case, current_user),
                           consent=cases.current_assessment(case).consent_to_contact_suppliers,
                           choice=dialogue.choice(case))


@bp.route("/cases/<int:case_id>/dialogue/requirement", methods=["GET", "POST"])
def edit_requirement(case_id: int):
    case = load_case(case_id)
    today = date.today()
    current = dialogue.requirement(case) or dialogue.draft_requirement(case, today)
    form = RequirementForm(obj=current)
    if request.method == "GET":
        form.version.data = current.version if current.id else None
    if form.validate_on_submit():
        try:
            dialogue.save_requirement(
                case, current_user, form.version.data, age_band_text=form.age_band.data,
                functional_summary=form.functional_summary.data or "", support_need=form.support_need.data,
                goals=form.goals.data or "", services=form.services.data or "",
                hours_per_week=form.hours_per_week.data, desired_start=form.desired_start.data,
                special_conditions=form.special_conditions.data or "", today=today)
        except StaleEdit as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("dialogue/requirement_form.html", form=form, case=case), 409
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The anonymised requirement is saved."), "success")
            return redirect(url_for("dialogue.overview", case_id=case.id))
    cases.log_access(current_user, case, "requirement.edit", "Anonymiseret kravspecifikation")
    db.session.commit()
    return render_template("dialogue/requirement_form.html", form=form, case=case)


@bp.route("/cases/<int:case_id>/dialogue/send", methods=["POST"])
def send(case_id: int):
    case = load_case(case_id)
    form = SendForm()
    form.offers.choices = [(entry.offer_id, entry.offer.name) for entry in shortlist.entries(case)]
    if not form.validate_on_submit():
        flash(" ".join(str(error) for errors in form.errors.values() for error in errors), "error")
        return redirect(url_for("dialogue.overview", case_id=case.id))
    try:
        sent = dialogue.send_inquiries(case, current_user, form.offers.data, form.deadline.data, form.sealed.data,
                                       date.today())
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()  # the mails leave now, after the commit
        _report_mailing(sent)
    return redirect(url_for("dialogue.overview", case_id=case.id))


def _report_mailing(inquiries: list[Inquiry]) -> None:
    """Say which inquiries' mails went, and which the mail server refused (they can be sent again)."""
    unsent = [inquiry for inquiry in inquiries if inquiry.mailed_at is None]
    if len(unsent) < len(inquiries):
        flash(_("%(n)s inquiries sent.", n=len(inquiries) - len(unsent)), "success")
    if unsent:
        flash(_("The mail to %(names)s could not be sent, so they have no link yet. Open the inquiry and send it "
                "again.", names=", ".join(inquiry.offer.supplier.name for inquiry in unsent)), "error")


@bp.route("/cases/<int:case_id>/dialogue/inquiries/<int:inquiry_id>", methods=["GET", "POST"])
def inquiry_page(case_id: int, inquiry_id: int):
    case = load_case(case_id)
    inquiry = load_of_case(Inquiry, inquiry_id, case)
    today = date.today()
    form = ManualReplyForm()
    if form.validate_on_submit():
        try:
            dialogue.submit_reply(inquiry, reply_input(form), today, entered_by=current_user,
                                  channel=form.channel.data)
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The reply is recorded."), "success")
            return redirect(url_for("dialogue.inquiry_page", case_id=case.id, inquiry_id=inquiry.id))
    cases.log_access(current_user, case, "dialogue.view", "Leverandørdialog")
    db.session.commit()
    channels = dict(form.channel.choices)
    return render_template("dialogue/inquiry.html", case=case, inquiry=inquiry, form=form, note_form=NoteForm(),
                           channel_label=lambda code: channels.get(code, _("link")),
                           plain=PlainForm(), today=today, can_lead=dialogue.can_lead_dialogue(case, current_user),
                           visible=inquiry.replies_visible(today))


@bp.route("/cases/<int:case_id>/dialogue/inquiries/<int:inquiry_id>/<action>", methods=["POST"])
def inquiry_action(case_id: int, inquiry_id: int, action: str):
    case = load_case(case_id)
    inquiry = load_of_case(Inquiry, inquiry_id, case)
    actions = {
        "note": lambda: _add_note(case, inquiry),
        "revoke": lambda: dialogue.revoke(case, inquiry, current_user),
        "unseal": lambda: dialogue.unseal(case, inquiry, current_user),
        "prefer": lambda: dialogue.set_preference(case, inquiry, current_user, True),
        "unprefer": lambda: dialogue.set_preference(case, inquiry, current_user, False),
        "resend": lambda: dialogue.resend(case, inquiry, current_user, date.today()),
    }
    if action not in actions:
        abort(404)
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        actions[action]()
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        if action == "resend":
            _report_mailing([inquiry])
        else:
            flash(_("Saved."), "success")
    if request.form.get("back") == "compare":
        return redirect(url_for("dialogue.comparison", case_id=case.id))
    return redirect(url_for("dialogue.inquiry_page", case_id=case.id, inquiry_id=inquiry.id))


def _add_note(case, inquiry) -> None:
    """The note form's own checks (its length, no NUL) before the service's."""
    form = NoteForm()
    if not form.validate():
        raise ServiceError(" ".join(str(error) for error in form.text.errors) or _("Write the note."), "text")
    dialogue.add_note(case, inquiry, current_user, form.text.data)


@bp.route("/cases/<int:case_id>/dialogue/comparison", methods=["GET", "POST"])
def comparison(case_id: int):
    case = load_case(case_id)
    today = date.today()
    rows = dialogue.compare(case, today)
    chosen = dialogue.choice(case)
    form = ChooseForm()
    form.inquiry_id.choices = [(row.inquiry.id, row.inquiry.offer.name) for row in rows if row.passes]
    if request.method == "GET":
        form.version.data = case.version
    if form.validate_on_submit():
        try:
            dialogue.choose(case, db.session.get(Inquiry, form.inquiry_id.data), current_user,
                            form.justification.data or "", today, version=form.version.data)
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()  # the others are told now, after the commit
            flash(_("The supplier is chosen; the others have been told. The case moves on to the contract terms."),
                  "success")
            if untold := mail.not_sent():
                flash(_("These suppliers could not be told by mail that they were not chosen: %(addresses)s. "
                        "Tell them yourself.", addresses=", ".join(a for m in untold for a in m.to)), "error")
            return redirect(url_for("cases.case_page", case_id=case.id))
    chosen_row = next((row for row in rows if chosen and row.inquiry.id == chosen.inquiry_id), None)
    dialogue.mark_free_choice(case, rows, chosen_row.annual_cost if chosen_row else None)
    cases.log_access(current_user, case, "dialogue.compare", "Sammenligning af tilbud")
    db.session.commit()
    return render_template("dialogue/comparison.html", case=case, rows=rows, form=form, chosen=chosen,
                           plain=PlainForm(), can_lead=dialogue.can_lead_dialogue(case, current_user))
