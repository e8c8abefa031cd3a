"""Administration: users, units, settings and the audit trail. Admins only."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflow.admin.forms import (
    AccessExtractDownloadForm,
    AccessExtractForm,
    NewUserForm,
    ResetPasswordForm,
    SettingsForm,
    UnitForm,
    UserForm,
)
from workflow.errors import render_error
from workflow.extensions import db
from workflow.forms import show_refusal
from workflow.legal_basis import LEGAL_BASES
from workflow.models import AuditEvent, Role, Unit, User
from workflow.security import restrict_blueprint
from workflow.services import ServiceError, StaleEdit, access_extract, settings, users

bp = Blueprint("admin", __name__)

AUDIT_PAGE_SIZE = 50
SIMPLE_SETTINGS = ("followup_soon_days", "offer_stale_months", "inquiry_reply_business_days", "retention_years",
                   "weight_price", "weight_quality", "weight_distance", "weight_preference", "eu_threshold_dkk")

restrict_blueprint(bp, Role.ADMIN)


def _unit_choices(include_id: int | None = None):
    units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
    return [(u.id, u.name) for u in units if u.active or u.id == include_id]


def _get_or_404(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


@bp.route("/")
def index():
    return redirect(url_for("admin.user_list"))


@bp.route("/users")
def user_list():
    rows = db.session.scalars(
        select(User).options(selectinload(User.unit)).order_by(User.active.desc(), User.full_name)
    ).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = NewUserForm()
    form.unit_id.choices = _unit_choices()
    if form.validate_on_submit():
        try:
            user = users.create_user(
                login=form.login.data, full_name=form.full_name.data, email=form.email.data,
                role=form.role.data, unit=db.session.get(Unit, form.unit_id.data),
                password=form.password.data, approval_limit=form.approval_limit.data)
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("User %(name)s created.", name=user.full_name), "success")
            return redirect(url_for("admin.user_list"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = _get_or_404(User, user_id)
    form = UserForm(obj=user)
    form.unit_id.choices = _unit_choices(user.unit_id)
    if request.method == "GET":
        form.version.data = user.version
    if form.validate_on_submit():
        try:
            users.update_user(
                user, version=form.version.data, full_name=form.full_name.data, email=form.email.data,
                role=form.role.data, unit=db.session.get(Unit, form.unit_id.data),
                approval_limit=form.approval_limit.data, active=form.active.data)
        except StaleEdit as error:
            db.session.rollback()
            return render_template("admin/user_form.html", form=form, user=user,
                                   stale=error.message), 409
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Changes to %(name)s saved.", name=user.full_name), "success")
            return redirect(url_for("admin.user_list"))
    return render_template("admin/user_form.html", form=form, user=user,
                           reset_form=ResetPasswordForm())


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def user_password(user_id: int):
    user = _get_or_404(User, user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            users.reset_password(user, form.password.data)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The password of %(name)s has been reset.", name=user.full_name), "success")
    else:
        flash(_("Write a new password."), "error")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/units")
def unit_list():
    units = db.session.scalars(select(Unit).options(selectinload(Unit.users)).order_by(Unit.name)).all()
    return render_template("admin/units.html", units=units)


@bp.route("/units/new", methods=["GET", "POST"])
@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
def unit_form(unit_id: int | None = None):
    unit = _get_or_404(Unit, unit_id) if unit_id is not None else None
    form = UnitForm(obj=unit)
    if unit is not None and request.method == "GET":
        form.version.data = unit.version
    if form.validate_on_submit():
        try:
            if unit is None:
                unit = users.create_unit(form.name.data)
            else:
                users.update_unit(unit, version=form.version.data, name=form.name.data, active=form.active.data)
        except StaleEdit as error:
            db.session.rollback()
            return render_template("admin/unit_form.html", form=form, unit=unit, stale=error.message), 409
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Unit %(name)s saved.", name=unit.name), "success")
            return redirect(url_for("admin.unit_list"))
    return render_template("admin/unit_form.html", form=form, unit=unit)


def _settings_form(values: dict) -> SettingsForm:
    data = dict(values)
    data["approval_tiers"] = [
        {"name": tier["name"], "limit": None if tier["limit"] is None else Decimal(tier["limit"])}
        for tier in values["approval_tiers"]
    ]
    data["followup_intervals"] = [
        {"code": basis.code, **values["followup_intervals"].get(basis.code, {})} for basis in LEGAL_BASES
    ]
    if request.method != "GET":
        return SettingsForm()
    form = SettingsForm(data=data)
    if len(form.approval_tiers) < form.approval_tiers.max_entries:
        form.approval_tiers.append_entry()  # room for one more tier
    return form


@bp.route("/settings", methods=["GET", "POST"])
def settings_page():
    values = settings.all_values()
    form = _settings_form(values)
    if form.validate_on_submit():
        submitted = {
            "approval_tiers": [
                {"name": entry.form.name.data or "", "limit": entry.form.limit.data}
                for entry in form.approval_tiers if (entry.form.name.data or entry.form.limit.data is not None)
            ],
            "followup_intervals": {
                entry.form.code.data: {"first_months": entry.form.first_months.data,
                                       "then_months": entry.form.then_months.data}
                for entry in form.followup_intervals
            },
        }
        for key in SIMPLE_SETTINGS:
            submitted[key] = getattr(form, key).data
        try:
            changed = [key for key, value in submitted.items() if settings.change(key, value)]
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Settings saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("admin.settings_page"))
    labels = {basis.code: basis.label for basis in LEGAL_BASES}
    return render_template("admin/settings.html", form=form, definitions=settings.DEFINITIONS, labels=labels,
                           simple_settings=SIMPLE_SETTINGS)


@bp.route("/audit")
def audit_log():
    page = max(request.args.get("page", 1, type=int), 1)
    events = db.session.scalars(
        select(AuditEvent).options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE_SIZE + 1).offset((page - 1) * AUDIT_PAGE_SIZE)
    ).all()
    return render_template("admin/audit.html", events=events[:AUDIT_PAGE_SIZE], page=page,
                           has_next=len(events) > AUDIT_PAGE_SIZE)


@bp.route("/access-extract", methods=["GET", "POST"])
def access_extract_page():
    """A data-subject access request: the CPR number comes only in the POST body, and the extract is that POST's
    answer (never a redirect that would carry it); the number is not echoed back into the page."""
    form = AccessExtractForm()
    extract = token = None
    if form.validate_on_submit():
        try:
            citizen = access_extract.find_citizen(form.cpr.data)
            extract = access_extract.produce(current_user, citizen, "page")
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            token = access_extract.download_token(current_user, citizen)
    form.cpr.data = ""
    status = 422 if form.errors else 200
    return render_template("admin/access_extract.html", form=form, extract=extract,
                           download_form=AccessExtractDownloadForm(token=token)), status


@bp.route("/access-extract/download", methods=["POST"])
def access_extract_download():
    """The extract as PDF or CSV, from the results page's signed reference (no CPR number in the request)."""
    form = AccessExtractDownloadForm()
    if not form.validate_on_submit():
        return render_error(400)
    try:
        citizen = access_extract.citizen_from_token(current_user, form.token.data)
    except ServiceError as error:
        return render_error(400, error.message)
    extract = access_extract.produce(current_user, citizen, form.format.data)
    if form.format.data == "pdf":
        body, mimetype = access_extract.pdf_bytes(extract), "application/pdf"
    else:
        body, mimetype = access_extract.csv_bytes(extract), "text/csv"
    db.session.commit()
    name = access_extract.filename(extract, form.format.data)
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
