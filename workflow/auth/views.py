"""Signing in and out, choosing the language, and the user's own profile."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from workflow import clock
from workflow.auth.forms import ApiTokenForm, ChangePasswordForm, LanguageForm, PlainForm, SignInForm
from workflow.database import begins_at_first_write
from workflow.extensions import db
from workflow.forms import DONE, carry_out
from workflow.security import client_address, public
from workflow.services import ServiceError, api_tokens, passwords, signin, users

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only a path on this site; anything else goes to the start page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.start")


@bp.route("/login", methods=["GET", "POST"])
@begins_at_first_write  # the password hash is not done holding SQLite's write lock
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
    return _profile(form=form)


def _profile(status: int = 200, **forms):
    forms.setdefault("form", ChangePasswordForm(formdata=None))
    forms.setdefault("token_form", ApiTokenForm(formdata=None))
    return render_template("auth/profile.html", tokens=api_tokens.tokens_of(current_user), today=clock.today(),
                           plain=PlainForm(), **forms), status


@bp.route("/profile/tokens", methods=["POST"])
def create_token():
    """A new personal API token, shown on the page this once (never put in the session or a redirect)."""
    form = ApiTokenForm()
    created = []
    if form.validate_on_submit():
        def create():
            created.append(api_tokens.create(current_user, form.name.data, form.expires_on.data, clock.today()))
        if carry_out(form, create) == DONE:
            return _profile(token_form=ApiTokenForm(formdata=None), new_token=created[0])
    return _profile(422, token_form=form)


@bp.route("/profile/tokens/<int(max=2147483647):token_id>/revoke", methods=["POST"])
def revoke_token(token_id: int):
    token = api_tokens.find(current_user, token_id)
    if token is None:
        abort(404)
    if PlainForm().validate_on_submit():
        api_tokens.revoke(token, current_user)
        db.session.commit()
        flash(_("The token %(name)s is revoked. It no longer works.", name=token.name), "success")
    return redirect(url_for("auth.profile") + "#api-tokens")
