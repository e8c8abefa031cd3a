"""The supplier's reply page at /reply/<token>: no account, only the anonymised requirement."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflow.dialogue.forms import ReplyForm
from workflow.dialogue.views import reply_input
from workflow.extensions import db
from workflow.forms import show_refusal
from workflow.models import LoginAttempt
from workflow.models.types import utcnow
from workflow.security import client_address, public
from workflow.services import ServiceError, dialogue

bp = Blueprint("supplier_reply", __name__)

GUESS_WINDOW = timedelta(minutes=15)
GUESSES_ALLOWED = 20  # wrong links per address and window before 429
GUESS_KEY = "reply-link"  # wrong links are counted with failed sign-ins, under this name


def _too_many_guesses() -> bool:
    since = utcnow() - GUESS_WINDOW
    count = db.session.scalar(db.select(db.func.count(LoginAttempt.id)).where(
        LoginAttempt.login == GUESS_KEY, LoginAttempt.address == client_address(),
        LoginAttempt.attempted_at > since))
    return count >= GUESSES_ALLOWED


def _inquiry_or_refuse(token: str):
    if _too_many_guesses():
        abort(429)
    inquiry = dialogue.by_token(token)
    if inquiry is None:
        db.session.add(LoginAttempt(login=GUESS_KEY, address=client_address()))
        db.session.commit()
        abort(404)
    return inquiry


@bp.route("/reply/<token>", methods=["GET", "POST"])
@public
def reply(token: str):
    inquiry = _inquiry_or_refuse(token)
    today = date.today()
    if inquiry.revoked_at is not None:
        return render_template("supplier_reply/closed.html", reason="revoked"), 410
    requirement = dialogue.requirement(inquiry.case)
    latest = inquiry.latest_reply
    form = ReplyForm(obj=latest) if latest and not _posted() else ReplyForm()
    if latest and not _posted():
        form.can_deliver.data = "yes" if latest.can_deliver else "no"
        for entry, line in zip(form.lines, latest.lines, strict=False):
            entry.form.description.data, entry.form.unit.data = line.description, line.unit
            entry.form.unit_price.data, entry.form.quantity.data = line.unit_price, f"{line.quantity.normalize()}"
    if form.validate_on_submit():
        try:
            dialogue.submit_reply(inquiry, reply_input(form), today)
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Thank you. Your reply is received. You may revise it until the deadline."), "success")
            return redirect(url_for("supplier_reply.reply", token=token))
    return render_template("supplier_reply/reply.html", inquiry=inquiry, requirement=requirement, form=form,
                           latest=latest, open=inquiry.is_open(today), case_legal_basis=inquiry.case.legal_basis,
                           case_target_group=inquiry.case.target_group)


def _posted() -> bool:
    return request.method == "POST"
