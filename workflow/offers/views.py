"""The offer registry at /offers: browse, read, edit by hand, import from CSV."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflow.extensions import db
from workflow.forms import PlainForm, show_refusal
from workflow.models import Offer, OfferImport, PurchaseCase, Role, ShortlistEntry, Supplier
from workflow.offers.forms import ImportForm, OfferForm, SupplierForm
from workflow.security import restrict_blueprint, roles_required
from workflow.services import ServiceError, StaleEdit, offer_import, registry

bp = Blueprint("offers", __name__, url_prefix="/offers")

READERS = registry.READERS
EDITORS = registry.EDITORS
PAGE_SIZE = registry.PAGE_SIZE

restrict_blueprint(bp, *READERS)


def _get(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def _stale_before() -> date:
    return registry.stale_before(date.today())


@bp.route("")
def offer_list():
    args = request.args
    result = registry.list_offers(registry.OfferFilters(
        q=args.get("q", ""), legal_basis=args.get("legal_basis", ""), target_group=args.get("target_group", ""),
        service_type=args.get("service_type", ""), municipality=args.get("municipality", ""),
        approval=args.get("approval", ""), stale=args.get("stale") == "1", inactive=args.get("inactive") == "1",
        page=max(1, min(args.get("page", 1, type=int) or 1, 10_000))), date.today(), page_size=PAGE_SIZE)
    return render_template("offers/list.html", offers=result.rows, total=result.total, page=result.page,
                           pages=result.pages, stale_before=_stale_before(), can_edit=current_user.role in EDITORS)


def _cases_using(offer_ids) -> list[tuple[ShortlistEntry, PurchaseCase]]:
    """Cases that shortlisted these offers, only those the user may see."""
    if current_user.role == Role.ADMIN:
        return []
    entries = db.session.scalars(
        select(ShortlistEntry).join(PurchaseCase, PurchaseCase.id == ShortlistEntry.case_id)
        .where(ShortlistEntry.offer_id.in_(offer_ids), PurchaseCase.visible_to(current_user))
        .options(selectinload(ShortlistEntry.case).selectinload(PurchaseCase.citizen),
                 selectinload(ShortlistEntry.offer))
        .order_by(ShortlistEntry.id.desc()).limit(100)).all()
    return list(entries)


@bp.route("/<int:offer_id>")
def offer_page(offer_id: int):
    offer = _get(Offer, offer_id)
    return render_template("offers/offer.html", offer=offer, uses=_cases_using([offer.id]),
                           stale_before=_stale_before(), can_edit=current_user.role in EDITORS)


@bp.route("/suppliers/<int:supplier_id>")
def supplier_page(supplier_id: int):
    supplier = _get(Supplier, supplier_id)
    return render_template("offers/supplier.html", supplier=supplier,
                           uses=_cases_using([offer.id for offer in supplier.offers]),
                           can_edit=current_user.role in EDITORS)


def _supplier_input(form) -> registry.SupplierInput:
    return registry.SupplierInput(
        cvr=(form.cvr.data or "").strip(), name=form.name.data or "", supplier_type=form.supplier_type.data,
        ean=(form.ean.data or "").strip(), address=form.address.data or "", contact_name=form.contact_name.data or "",
        contact_email=form.contact_email.data or "", contact_phone=form.contact_phone.data or "",
        notes=form.notes.data or "")


@bp.route("/suppliers/new", methods=["GET", "POST"])
@bp.route("/suppliers/<int:supplier_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def supplier_form(supplier_id: int | None = None):
    supplier = _get(Supplier, supplier_id) if supplier_id else None
    form = SupplierForm(obj=supplier)
    if supplier is not None and request.method == "GET":
        form.version.data = supplier.version
    if form.validate_on_submit():
        try:
            if supplier is None:
                supplier = registry.create_supplier(_supplier_input(form))
            else:
                registry.update_supplier(supplier, form.version.data, _supplier_input(form))
        except StaleEdit as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("offers/supplier_form.html", form=form, supplier=supplier), 409
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The supplier is saved."), "success")
            return redirect(url_for("offers.supplier_page", supplier_id=supplier.id))
    return render_template("offers/supplier_form.html", form=form, supplier=supplier)


def _offer_input(form) -> registry.OfferInput:
    return registry.OfferInput(
        key=form.key.data or "", name=form.name.data or "", municipality=form.municipality.data,
        list_price=form.list_price.data, price_unit=form.price_unit.data,
        price_effective_from=form.price_effective_from.data, approval_status=form.approval_status.data,
        data_updated_on=form.data_updated_on.data, address=form.address.data or "",
        legal_bases=form.legal_bases.data or [], target_groups=form.target_groups.data or [],
        service_types=form.service_types.data or [], places=form.places.data, vacancies=form.vacancies.data,
        approved_on=form.approved_on.data, framework_agreement=form.framework_agreement.data,
        framework_name=form.framework_name.data or "", quality_note=form.quality_note.data or "")


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:offer_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def offer_form(offer_id: int | None = None):
    offer = _get(Offer, offer_id) if offer_id else None
    form = OfferForm(obj=offer)
    form.supplier_id.choices = [(s.id, s.name) for s in db.session.scalars(select(Supplier).order_by(Supplier.name))]
    if request.method == "GET":
        if offer is not None:
            form.version.data = offer.version
            form.legal_bases.data, form.target_groups.data = offer.legal_bases, offer.target_groups
            form.service_types.data = offer.service_types
        elif request.args.get("supplier", type=int):
            form.supplier_id.data = request.args.get("supplier", type=int)
    if form.validate_on_submit():
        try:
            if offer is None:
                offer = registry.create_offer(_get(Supplier, form.supplier_id.data), _offer_input(form), date.today())
            else:
                registry.update_offer(offer, form.version.data, _offer_input(form), date.today(),
                                      active=form.active.data, supplier=_get(Supplier, form.supplier_id.data))
        except StaleEdit as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("offers/offer_form.html", form=form, offer=offer), 409
        except ServiceError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The offer is saved."), "success")
            return redirect(url_for("offers.offer_page", offer_id=offer.id))
    return render_template("offers/offer_form.html", form=form, offer=offer)


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*offer_import.IMPORTERS)
def import_upload():
    form = ImportForm()
    if form.validate_on_submit():
        try:
            text = offer_import.decode(form.file.data.read())
        except ServiceError as error:
            form.file.errors.append(error.message)
        else:
            batch = offer_import.store_for_preview(form.file.data.filename or "offers.csv", text, current_user)
            db.session.commit()
            return redirect(url_for("offers.import_preview", import_id=batch.id))
    recent = db.session.scalars(select(OfferImport).options(selectinload(OfferImport.uploaded_by))
                                .order_by(OfferImport.id.desc()).limit(10)).all()
    return render_template("offers/import.html", form=form, recent=recent, columns=offer_import.COLUMNS)


@bp.route("/import/<int:import_id>", methods=["GET", "POST"])
@roles_required(*offer_import.IMPORTERS)
def import_preview(import_id: int):
    batch = _get(OfferImport, import_id)
    plan = offer_import.plan_import(batch.content)
    form = PlainForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            summary = offer_import.apply_stored(batch, current_user, plan)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The import is done: %(new)s new and %(updated)s changed offers.",
                    new=summary.get("new_offers", 0), updated=summary.get("updated_offers", 0)), "success")
            return redirect(url_for("offers.offer_list"))
    return render_template("offers/import_preview.html", batch=batch, plan=plan, form=form)
