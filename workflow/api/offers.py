"""/api/v1/offers and /api/v1/offer-imports: the offer registry, and importing it from CSV.

Everyone on the staff reads the registry; its editors (procurement and administrators) import it,
in the same two steps as on the pages: an upload answers with a preview (the counts of what would
change, or every row's errors) and writes nothing to the registry; applying the upload writes it, once.
"""
from __future__ import annotations

import marshmallow as ma
from flask import abort, g, url_for
from flask_login import current_user

from workflow import clock, legal_basis, municipalities
from workflow.api.base import ID, ApiSchema, NoBodySchema, PageSchema, blueprint, etag_header, found
from workflow.api.cases import PersonSchema
from workflow.api.fields import Count, Money, Text
from workflow.extensions import db
from workflow.models import Offer, OfferImport
from workflow.models.offers import APPROVAL_STATUSES, PRICE_UNITS, SUPPLIER_TYPES
from workflow.services import offer_import, registry
from workflow.vocabulary import SERVICE_TYPE_LABELS, TARGET_GROUP_LABELS

bp = blueprint("offers", "The offer registry: suppliers' offers with their list prices and terms; "
                         "importing the registry from a CSV file (preview, then apply).")

MAX_ERRORS = 500   # row errors sent with an import; error_count says how many there are in all


def _stale_before():
    """The registry's staleness limit, worked out once per request (it reads a setting)."""
    if "offers_stale_before" not in g:
        g.offers_stale_before = registry.stale_before(clock.today())
    return g.offers_stale_before


def _may_read() -> None:
    if not current_user.has_role(*registry.READERS):
        abort(403)


def _may_import() -> None:
    if not offer_import.can_import(current_user):
        abort(403)


# --- Schemas -------------------------------------------------------------------------------------------------

class SupplierRefSchema(ApiSchema):
    id = ma.fields.Integer()
    cvr = ma.fields.String()
    name = ma.fields.String()
    supplier_type = ma.fields.String(metadata={"enum": list(SUPPLIER_TYPES)})


class SupplierSchema(SupplierRefSchema):
    ean = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)
    contact_name = ma.fields.String(allow_none=True)
    contact_email = ma.fields.String(allow_none=True)
    contact_phone = ma.fields.String(allow_none=True)
    charges_vat = ma.fields.Boolean(metadata={"description": "Private suppliers' prices carry VAT."})


class OfferSummarySchema(ApiSchema):
    id = ma.fields.Integer()
    key = ma.fields.String(metadata={"description": "The registry's id of the offer."})
    name = ma.fields.String()
    supplier = ma.fields.Nested(SupplierRefSchema)
    municipality = ma.fields.String(metadata={"description": "Municipality code, e.g. 101."})
    legal_bases = ma.fields.List(ma.fields.String())
    target_groups = ma.fields.List(ma.fields.String())
    service_types = ma.fields.List(ma.fields.String())
    list_price = Money()
    price_unit = ma.fields.String(metadata={"enum": list(PRICE_UNITS)})
    places = ma.fields.Integer()
    vacancies = ma.fields.Integer()
    approval_status = ma.fields.String(metadata={"enum": list(APPROVAL_STATUSES)})
    framework_agreement = ma.fields.Boolean()
    data_updated_on = ma.fields.Date()
    stale = ma.fields.Function(lambda offer: offer.data_updated_on < _stale_before(),
                               metadata={"type": "boolean", "description": "The data is older than the "
                                         "registry's limit (setting offer_stale_months)."})
    active = ma.fields.Boolean()


class OfferPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(OfferSummarySchema), attribute="rows")


class PriceSchema(ApiSchema):
    price = Money()
    unit = ma.fields.String()
    effective_from = ma.fields.Date()


class OfferSchema(OfferSummarySchema):
    supplier = ma.fields.Nested(SupplierSchema)
    address = ma.fields.String(allow_none=True)
    price_effective_from = ma.fields.Date()
    approved_on = ma.fields.Date(allow_none=True)
    framework_name = ma.fields.String(allow_none=True)
    quality_note = ma.fields.String(allow_none=True)
    prices = ma.fields.List(ma.fields.Nested(PriceSchema), metadata={"description": "The list price history, "
                                                                                      "newest first."})
    version = ma.fields.Integer()


class OfferListArgs(ApiSchema):
    q = Text(100, load_default="", metadata={"description": "Part of the offer's or supplier's name, "
                                                            "or the exact registry id."})
    legal_basis = ma.fields.String(load_default="", validate=ma.validate.OneOf(["", *legal_basis.BY_CODE]))
    target_group = ma.fields.String(load_default="", validate=ma.validate.OneOf(["", *TARGET_GROUP_LABELS]))
    service_type = ma.fields.String(load_default="", validate=ma.validate.OneOf(["", *SERVICE_TYPE_LABELS]))
    municipality = ma.fields.String(load_default="", validate=ma.validate.OneOf(["", *municipalities.BY_CODE]))
    approval = ma.fields.String(load_default="", validate=ma.validate.OneOf(["", *APPROVAL_STATUSES]))
    stale = ma.fields.Boolean(load_default=False, metadata={"description": "Only offers with stale data."})
    inactive = ma.fields.Boolean(load_default=False, metadata={"description": "Include inactive offers."})
    page = Count(minimum=1, maximum=100_000, load_default=1)
    page_size = Count(minimum=1, maximum=100, load_default=registry.PAGE_SIZE)


class ImportUploadSchema(ApiSchema):
    filename = Text(200, load_default="", metadata={"example": "tilbud.csv"})
    content = Text(offer_import.MAX_CHARS, required=True, blank=False, metadata={
        "description": "The file's text: a header line with the column names, then one offer a line; "
                       "separated by ';' or ',' (as the header is). At most 5,000,000 characters."})


class RowErrorSchema(ApiSchema):
    line = ma.fields.Integer(metadata={"description": "1-based line of the file; the header is line 1."})
    column = ma.fields.String(allow_none=True)
    message = ma.fields.String()


class PlanSchema(ApiSchema):
    ok = ma.fields.Boolean(metadata={"description": "No errors: the file can be applied."})
    rows = ma.fields.Function(lambda plan: len(plan.rows), metadata={"type": "integer"})
    new_offers = ma.fields.Integer()
    updated_offers = ma.fields.Integer()
    unchanged_offers = ma.fields.Integer()
    new_suppliers = ma.fields.Integer()
    updated_suppliers = ma.fields.Integer()
    error_count = ma.fields.Function(lambda plan: len(plan.errors), metadata={"type": "integer"})
    errors = ma.fields.Function(lambda plan: RowErrorSchema(many=True).dump(plan.errors[:MAX_ERRORS]), metadata={
        "type": "array", "items": {"type": "object"},
        "description": f"Every problem of the file (the first {MAX_ERRORS}); nothing is imported while there is one."})


class ImportSchema(ApiSchema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["preview", "applied", "rejected"]})
    uploaded_at = ma.fields.DateTime()
    uploaded_by = ma.fields.Nested(PersonSchema)
    plan = ma.fields.Nested(PlanSchema, allow_none=True, metadata={
        "description": "While in preview: what applying the file would change now, or its errors."})
    summary = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), allow_none=True, metadata={
        "description": "Once applied: the counts of what the import changed."})


def _import(batch: OfferImport, plan: offer_import.ImportPlan | None = None) -> dict:
    """An upload as sent: the plan while it is in preview (made now, as the page does), the counts once applied."""
    if plan is None and batch.status == "preview":
        plan = offer_import.plan_import(batch.content)
    return {"id": batch.id, "filename": batch.filename, "status": batch.status, "uploaded_at": batch.uploaded_at,
            "uploaded_by": batch.uploaded_by, "plan": plan if batch.status == "preview" else None,
            "summary": batch.summary if batch.status == "applied" else None}


# --- The registry -----------------------------------------------------------------------------------------------

@bp.route("/offers", methods=["GET"])
@bp.arguments(OfferListArgs, location="query", as_kwargs=True)
@bp.response(200, OfferPageSchema)
def list_offers(page_size: int, **filters):
    """The registry's offers by name, filtered like the registry page, in pages (active offers unless asked)."""
    _may_read()
    result = registry.list_offers(registry.OfferFilters(**filters), clock.today(), page_size=page_size)
    return {"rows": result.rows, "total": result.total, "page": result.page, "pages": result.pages,
            "page_size": page_size}


@bp.route(f"/offers/<{ID}:offer_id>", methods=["GET"])
@bp.response(200, OfferSchema)
def read_offer(offer_id: int):
    """One offer with its supplier, terms and list price history."""
    _may_read()
    offer = found(db.session.get(Offer, offer_id))
    return offer, 200, etag_header("offer", offer)


# --- Import ------------------------------------------------------------------------------------------------------

@bp.route("/offer-imports", methods=["POST"])
@bp.arguments(ImportUploadSchema)
@bp.response(201, ImportSchema)
def upload_import(data: dict):
    """Upload a registry file to preview (procurement and administrators); nothing in the registry changes yet.

    Send JSON: `{"filename": "tilbud.csv", "content": "<the CSV text>"}` (UTF-8, at most 5,000,000
    characters). The answer is the preview: the counts of what applying would change, or every row's errors.
    Apply it with POST /offer-imports/{id}/apply.
    """
    _may_import()
    batch = offer_import.store_for_preview(data["filename"] or "offers.csv", data["content"], current_user)
    plan = offer_import.plan_import(batch.content)
    db.session.commit()
    return _import(batch, plan), 201, {"Location": url_for("api_offers.read_import", import_id=batch.id)}


@bp.route(f"/offer-imports/<{ID}:import_id>", methods=["GET"])
@bp.response(200, ImportSchema)
def read_import(import_id: int):
    """An uploaded registry file: its preview while it waits, the counts of what it changed once applied."""
    _may_import()
    return _import(found(db.session.get(OfferImport, import_id)))


@bp.route(f"/offer-imports/<{ID}:import_id>/apply", methods=["POST"])
@bp.arguments(NoBodySchema)
@bp.response(200, ImportSchema)
def apply_import(_body: dict, import_id: int):
    """Import an uploaded file into the registry, whole or not at all, and only once (422 after that).

    A file with errors is refused (422). Uploads have no version, so no If-Match is needed: a file can
    be applied only once, and the counts are taken against the registry as it is when applied.
    """
    _may_import()
    batch = found(db.session.get(OfferImport, import_id))
    offer_import.apply_stored(batch, current_user)
    db.session.commit()
    return _import(batch)
