"""Signing in and out, choosing the language, and the user's own profile."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from workflow.auth.forms import ChangePasswordForm, LanguageForm, PlainForm, SignInForm
from workflow.extensions import db
from workflow.security import client_address, public
from workflow.services import ServiceError, passwords, signin, users

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only a path on this site; anything else goes to the start page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.start")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = signin.authenticate(form.login.data, form.password.data, client_address())
        except signin.SignInRefused as refused:
            db.session.commit()  # keep the failed attempt: throttling depends on it
            flash(refused.message, "error")
            return render_template("auth/login.html", form=form), 200
        language = session.get("language")
        session.clear()  # a new session on sign-in: nothing carries over from before
        if language:
            session["language"] = language
        session["sid"] = signin.start_session(user, client_address())
        login_user(user)
        db.session.commit()
        return redirect(safe_next(form.next.data))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    form = PlainForm()
    if form.validate_on_submit():
        signin.end_session(session.get("sid"))
        db.session.commit()
        logout_user()
        language = session.get("language")
        session.clear()
        if language:
            session["language"] = language
        flash(_("You are signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@public
def language():
    form = LanguageForm()
    if form.validate_on_submit() and form.language.data in current_app.config["LANGUAGES"]:
        session["language"] = form.language.data
    return redirect(safe_next(form.next.data))


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not passwords.verify_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("The current password is wrong."))
        else:
            try:
                users.reset_password(current_user, form.password.data)
            except ServiceError as refused:
                form.password.errors.append(refused.message)
            else:
                session["sid"] = signin.start_session(current_user, client_address())
                db.session.commit()
                flash(_("Your password has been changed. Other sessions have been signed out."), "success")
                return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)
