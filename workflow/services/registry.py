"""Keeping the offer registry by hand: suppliers and offers, with the list price history."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from workflow.extensions import db
from workflow.legal_basis import BY_CODE as LEGAL_BASES
from workflow.models import Offer, OfferPrice, OfferTerm, Role, Supplier
from workflow.models.offers import APPROVAL_STATUSES, PRICE_UNITS, SUPPLIER_TYPES
from workflow.municipalities import BY_CODE as MUNICIPALITIES
from workflow.services import audit, settings
from workflow.services.cases import check_version
from workflow.services.errors import ServiceError
from workflow.vocabulary import SERVICE_TYPE_LABELS, TARGET_GROUP_LABELS

TERM_KINDS = ("legal_basis", "target_group", "service_type")

READERS = (Role.CASEWORKER, Role.PROCUREMENT, Role.ECONOMY, Role.MANAGER, Role.ADMIN)   # who reads the registry
EDITORS = (Role.PROCUREMENT, Role.ADMIN)   # who keeps it: by hand and by import
PAGE_SIZE = 50


def months_between(earlier: date, later: date) -> int:
    """Whole months from one date to another."""
    return (later.year - earlier.year) * 12 + later.month - earlier.month - (later.day < earlier.day)


def stale_cutoff(today: date) -> date:
    """Offers whose data was last updated on or before this day are stale (setting offer_stale_months)."""
    months = settings.get("offer_stale_months")
    month_index = today.year * 12 + today.month - 1 - months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(today.day, last_day))


def stale_before(today: date) -> date:
    """Data updated before this day is stale (the same rule as the market scan's)."""
    return stale_cutoff(today) + timedelta(days=1)


# --- The registry's list: the same filters for the page and the API. ---

@dataclass
class OfferFilters:
    q: str = ""                 # part of the offer's or supplier's name, or the exact registry id
    legal_basis: str = ""
    target_group: str = ""
    service_type: str = ""
    municipality: str = ""
    approval: str = ""
    stale: bool = False         # only offers whose data is stale
    inactive: bool = False      # include offers that are no longer active
    page: int = 1


@dataclass
class OfferPage:
    rows: list[Offer]
    total: int
    page: int
    pages: int


def _has_term(kind: str, code: str):
    return Offer.id.in_(select(OfferTerm.offer_id).where(OfferTerm.kind == kind, OfferTerm.code == code))


def list_offers(filters: OfferFilters, today: date, page_size: int = PAGE_SIZE) -> OfferPage:
    """One page of offers by name, with their supplier and terms loaded; the page is kept within the pages."""
    conditions = [] if filters.inactive else [Offer.active.is_(True)]
    q = (filters.q or "").strip()[:100]
    if q:
        pattern = "%" + q.replace("\\", "").replace("%", "").replace("_", "") + "%"
        conditions.append(or_(Offer.name.ilike(pattern), Supplier.name.ilike(pattern), Offer.key == q))
    for kind, code in (("legal_basis", filters.legal_basis), ("target_group", filters.target_group),
                       ("service_type", filters.service_type)):
        if code:
            conditions.append(_has_term(kind, code))
    if filters.municipality:
        conditions.append(Offer.municipality == filters.municipality)
    if filters.approval:
        conditions.append(Offer.approval_status == filters.approval)
    if filters.stale:
        conditions.append(Offer.data_updated_on < stale_before(today))
    base = select(Offer).join(Supplier).where(*conditions)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    pages = max(1, -(-total // page_size))
    page = max(1, min(filters.page or 1, pages))
    rows = db.session.scalars(base.options(selectinload(Offer.supplier), selectinload(Offer.terms))
                              .order_by(Offer.name, Offer.id).limit(page_size).offset((page - 1) * page_size)).all()
    return OfferPage(rows=list(rows), total=total, page=page, pages=pages)


@dataclass
class SupplierInput:
    cvr: str
    name: str
    supplier_type: str
    ean: str = ""
    address: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    notes: str = ""


@dataclass
class OfferInput:
    key: str
    name: str
    municipality: str
    list_price: Decimal
    price_unit: str
    price_effective_from: date
    approval_status: str
    data_updated_on: date
    address: str = ""
    legal_bases: list[str] = field(default_factory=list)
    target_groups: list[str] = field(default_factory=list)
    service_types: list[str] = field(default_factory=list)
    places: int = 0
    vacancies: int = 0
    approved_on: date | None = None
    framework_agreement: bool = False
    framework_name: str = ""
    quality_note: str = ""


def check_supplier(data: SupplierInput) -> None:
    if not re.fullmatch(r"\d{8}", data.cvr or ""):
        raise ServiceError(_("The CVR number has 8 digits."), "cvr")
    if data.ean and not re.fullmatch(r"\d{13}", data.ean):
        raise ServiceError(_("The EAN number has 13 digits."), "ean")
    if data.supplier_type not in SUPPLIER_TYPES:
        raise ServiceError(_("Choose the supplier type from the list."), "supplier_type")
    if not data.name.strip():
        raise ServiceError(_("Write the supplier's name."), "name")


def check_offer(data: OfferInput, today: date) -> None:
    if not data.key.strip():
        raise ServiceError(_("Give the offer its registry id."), "key")
    if data.municipality not in MUNICIPALITIES:
        raise ServiceError(_("Choose the municipality from the list."), "municipality")
    if not data.legal_bases or any(code not in LEGAL_BASES for code in data.legal_bases):
        raise ServiceError(_("Choose at least one legal basis from the list."), "legal_bases")
    if any(code not in TARGET_GROUP_LABELS for code in data.target_groups):
        raise ServiceError(_("Choose target groups from the list."), "target_groups")
    if any(code not in SERVICE_TYPE_LABELS for code in data.service_types):
        raise ServiceError(_("Choose service types from the list."), "service_types")
    if data.price_unit not in PRICE_UNITS:
        raise ServiceError(_("Choose the price unit from the list."), "price_unit")
    if data.list_price is None or data.list_price <= 0:
        raise ServiceError(_("The list price must be above zero."), "list_price")
    if data.approval_status not in APPROVAL_STATUSES:
        raise ServiceError(_("Choose the approval status from the list."), "approval_status")
    if data.approval_status == "approved" and data.approved_on is None:
        raise ServiceError(_("Give the date of the approval."), "approved_on")
    if not 0 <= data.vacancies <= data.places:
        raise ServiceError(_("Vacancies go from 0 to the number of places."), "vacancies")
    if data.data_updated_on > today:
        raise ServiceError(_("The data cannot be updated in the future."), "data_updated_on")


def create_supplier(data: SupplierInput) -> Supplier:
    check_supplier(data)
    if db.session.scalar(select(Supplier.id).where(Supplier.cvr == data.cvr)):
        raise ServiceError(_("A supplier with this CVR number exists already."), "cvr")
    supplier = Supplier(cvr=data.cvr)
    _supplier_fields(supplier, data)
    db.session.add(supplier)
    db.session.flush()
    audit.record("supplier.created", supplier, {"name": supplier.name, "cvr": supplier.cvr})
    return supplier


def update_supplier(supplier: Supplier, version: int | None, data: SupplierInput) -> dict:
    check_version(supplier, version)
    check_supplier(data)
    clash = db.session.scalar(select(Supplier.id).where(Supplier.cvr == data.cvr))
    if clash is not None and clash != supplier.id:
        raise ServiceError(_("A supplier with this CVR number exists already."), "cvr")
    changed = _supplier_fields(supplier, data)
    if changed:
        audit.record("supplier.changed", supplier, {"changes": changed})
    return changed


def _supplier_fields(supplier: Supplier, data: SupplierInput) -> dict:
    return audit.changes(supplier, {
        "cvr": data.cvr, "name": data.name.strip(), "supplier_type": data.supplier_type, "ean": data.ean or None,
        "address": data.address.strip() or None, "contact_name": data.contact_name.strip() or None,
        "contact_email": data.contact_email.strip() or None, "contact_phone": data.contact_phone.strip() or None,
        "notes": data.notes.strip() or None})


def apply_offer(offer: Offer, data: OfferInput) -> dict:
    """Set an offer's fields, terms and price; a new price goes into the history. Returns the changes."""
    changed = audit.changes(offer, {
        "key": data.key.strip(), "name": data.name.strip(), "address": data.address.strip() or None,
        "municipality": data.municipality, "places": data.places, "vacancies": data.vacancies,
        "approval_status": data.approval_status, "approved_on": data.approved_on,
        "framework_agreement": data.framework_agreement, "framework_name": data.framework_name.strip() or None,
        "data_updated_on": data.data_updated_on, "quality_note": data.quality_note.strip() or None,
    })
    for kind, codes in zip(TERM_KINDS, (data.legal_bases, data.target_groups, data.service_types), strict=True):
        before = offer.codes(kind)
        if offer.set_codes(kind, codes):
            changed[kind] = [before, sorted(set(codes))]
    price = (data.list_price, data.price_unit, data.price_effective_from)
    if (offer.list_price, offer.price_unit, offer.price_effective_from) != price:
        changed["list_price"] = [str(offer.list_price) if offer.list_price is not None else None,
                                 str(data.list_price)]
        offer.list_price, offer.price_unit, offer.price_effective_from = price
        offer.prices.append(OfferPrice(price=data.list_price, unit=data.price_unit,
                                       effective_from=data.price_effective_from))
    return changed


def create_offer(supplier: Supplier, data: OfferInput, today: date) -> Offer:
    check_offer(data, today)
    if db.session.scalar(select(Offer.id).where(func.lower(Offer.key) == data.key.strip().lower())):
        raise ServiceError(_("An offer with this registry id exists already."), "key")
    offer = Offer(supplier=supplier, active=True)
    apply_offer(offer, data)
    db.session.add(offer)
    db.session.flush()
    audit.record("offer.created", offer, {"name": offer.name, "key": offer.key})
    return offer


def update_offer(offer: Offer, version: int | None, data: OfferInput, today: date, active: bool = True,
                 supplier: Supplier | None = None) -> dict:
    check_version(offer, version)
    check_offer(data, today)
    clash = db.session.scalar(select(Offer.id).where(func.lower(Offer.key) == data.key.strip().lower()))
    if clash is not None and clash != offer.id:
        raise ServiceError(_("An offer with this registry id exists already."), "key")
    changed = apply_offer(offer, data)
    changed.update(audit.changes(offer, {"active": active}))
    if supplier is not None:
        changed.update(audit.changes(offer, {"supplier_id": supplier.id}))
    if changed:
        audit.record("offer.changed", offer, {"changes": changed})
    return changed
