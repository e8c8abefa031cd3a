"""Importing the offer registry from a CSV file (a Tilbudsportalen-like export).

Two steps, so that a person can look before anything changes:

* `plan_import(text)` parses and validates every row, collects every error, and counts what the file
  would create or change. It only reads the database.
* `apply_import(plan, actor)` writes suppliers, offers, their terms and price history, and one audit
  event. It never commits: the caller commits once, so a file is imported whole or not at all.

An uploaded file is kept (`store_for_preview`) until someone confirms it; `apply_stored` imports it,
once. Who may import: `can_import` (the registry's editors).

Every cell is plain text: nothing in a file is ever evaluated.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from workflow import legal_basis, municipalities
from workflow.extensions import db
from workflow.forms import parse_money
from workflow.models import Offer, OfferImport, Role, Supplier, User
from workflow.models.offers import APPROVAL_STATUSES, PRICE_UNITS, SUPPLIER_TYPES
from workflow.services import audit, registry
from workflow.services.errors import ServiceError
from workflow.vocabulary import SERVICE_TYPE_LABELS, TARGET_GROUP_LABELS

IMPORTERS: tuple[Role, ...] = registry.EDITORS

COLUMNS: tuple[str, ...] = (
    "key", "supplier_cvr", "supplier_name", "supplier_ean", "supplier_type", "offer_name", "address",
    "municipality_code", "legal_bases", "target_groups", "service_types", "places", "vacancies", "list_price",
    "price_unit", "price_effective_from", "approval_status", "approved_on", "framework_agreement",
    "framework_name", "data_updated_on", "quality_note",
)
# Columns a file may leave out; a missing one reads as empty in every row.
OPTIONAL_COLUMNS: frozenset[str] = frozenset(
    {"supplier_ean", "address", "approved_on", "framework_agreement", "framework_name", "quality_note"})
REQUIRED_COLUMNS: tuple[str, ...] = tuple(name for name in COLUMNS if name not in OPTIONAL_COLUMNS)

MAX_CHARS = 5_000_000
MAX_ROWS = 20_000
CODE_SEPARATOR = "|"
MAX_PRICE = Decimal("1000000000")
MAX_PLACES = 100_000
# Lengths of the database columns the text goes into.
MAX_LENGTHS = {"key": 40, "supplier_name": 200, "offer_name": 200, "address": 300, "framework_name": 200,
               "quality_note": 10_000}

TERM_KINDS = (("legal_bases", "legal_basis"), ("target_groups", "target_group"), ("service_types", "service_type"))
APPROVAL_WORDS = {
    **{status: status for status in APPROVAL_STATUSES},
    "not approved": "not_approved",
    "godkendt": "approved",
    "afventer": "pending",
    "ikke godkendt": "not_approved",
}
YES = frozenset({"ja", "yes", "1", "true"})
NO = frozenset({"nej", "no", "0", "false", ""})
_DIGITS = re.compile(r"[0-9]+")
_CVR = re.compile(r"[0-9]{8}")
_EAN = re.compile(r"[0-9]{13}")
_DMY = re.compile(r"([0-9]{2})-([0-9]{2})-([0-9]{4})")
_YMD = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_COPENHAGEN = ZoneInfo("Europe/Copenhagen")

# Offer attributes that a row sets, by the row's field name.
_OFFER_FIELDS = {
    "offer_name": "name", "address": "address", "municipality_code": "municipality", "places": "places",
    "vacancies": "vacancies", "list_price": "list_price", "price_unit": "price_unit",
    "price_effective_from": "price_effective_from", "approval_status": "approval_status",
    "approved_on": "approved_on", "framework_agreement": "framework_agreement",
    "framework_name": "framework_name", "data_updated_on": "data_updated_on", "quality_note": "quality_note",
}
_SUPPLIER_FIELDS = {"supplier_name": "name", "supplier_ean": "ean", "supplier_type": "supplier_type"}
_IN_CHUNKS_OF = 500  # keys per IN (...) query: well below every database's parameter limit


@dataclass
class RowError:
    line: int             # 1-based line in the file; the header is line 1, errors about the whole file too
    column: str | None    # None when the error is about the whole row or file
    message: str          # already translated

    def __str__(self) -> str:
        where = f"line {self.line}, {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class OfferRow:
    """One valid row, in Python types."""

    line: int
    key: str
    supplier_cvr: str
    supplier_name: str
    supplier_ean: str | None
    supplier_type: str
    offer_name: str
    address: str | None
    municipality_code: str
    legal_bases: list[str]       # sorted, without duplicates, as Offer.codes() returns them
    target_groups: list[str]
    service_types: list[str]
    places: int
    vacancies: int
    list_price: Decimal
    price_unit: str
    price_effective_from: date
    approval_status: str
    approved_on: date | None
    framework_agreement: bool
    framework_name: str | None
    data_updated_on: date
    quality_note: str | None


@dataclass
class ImportPlan:
    rows: list[OfferRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_offers: int = 0
    updated_offers: int = 0
    unchanged_offers: int = 0
    new_suppliers: int = 0
    updated_suppliers: int = 0
    delimiter: str = ";"

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    def summary(self) -> dict[str, int]:
        return {"rows": len(self.rows), "new_offers": self.new_offers, "updated_offers": self.updated_offers,
                "unchanged_offers": self.unchanged_offers, "new_suppliers": self.new_suppliers,
                "updated_suppliers": self.updated_suppliers}


def decode(data: bytes) -> str:
    """The text of an uploaded file: UTF-8, with or without a byte order mark, and no NUL characters."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ServiceError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")) from error
    if "\x00" in text:   # not text at all (a spreadsheet saved as such?); no database stores it
        raise ServiceError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."))
    return text


def copenhagen_today() -> date:
    return datetime.now(_COPENHAGEN).date()


# --- Reading the file ----------------------------------------------------------------------------------------

def sniff_delimiter(header_line: str) -> str:
    """';' (what Danish Excel writes) unless the header has more commas than semicolons."""
    return "," if header_line.count(",") > header_line.count(";") else ";"


def _clean(cell: str) -> str:
    return unicodedata.normalize("NFC", cell).strip()


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, cells) for each record; quoted cells may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _BrokenFile(reader.line_num or line, str(error)) from error
        yield line, cells
        line = reader.line_num + 1


class _BrokenFile(Exception):
    def __init__(self, line: int, detail: str):
        super().__init__(detail)
        self.line = line
        self.detail = detail


def _read_header(cells: list[str], errors: list[RowError]) -> list[str] | None:
    names = [_clean(cell).lower() for cell in cells]
    while names and not names[-1]:
        names.pop()  # trailing delimiters, as some spreadsheets write them
    seen: set[str] = set()
    for name in names:
        if name in seen and name:
            errors.append(RowError(1, name, _("The column %(column)s appears twice.", column=name)))
        seen.add(name)
    unknown = [name for name in names if name not in COLUMNS]
    for name in unknown:
        if name:
            errors.append(RowError(1, name, _("Unknown column: %(column)s", column=name)))
        else:
            errors.append(RowError(1, None, _("A column has no name.")))
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        errors.append(RowError(1, None, _("The header lacks required columns: %(columns)s",
                                          columns=", ".join(missing))))
    return None if errors else names


def plan_import(text: str, *, today: date | None = None) -> ImportPlan:
    """Parse and validate the whole file, then count what importing it would change. Reads only."""
    plan = ImportPlan()
    if len(text) > MAX_CHARS:
        plan.errors.append(RowError(1, None, _("The file is too large: at most %(limit)s characters.",
                                               limit=f"{MAX_CHARS:,}".replace(",", "."))))
        return plan
    text = text.removeprefix("\ufeff")
    if not text.strip():
        plan.errors.append(RowError(1, None, _("The file is empty.")))
        return plan
    plan.delimiter = sniff_delimiter(io.StringIO(text, newline="").readline())
    validator = _RowValidator(today or copenhagen_today())
    header: list[str] | None = None
    try:
        for line, cells in _records(text, plan.delimiter):
            if header is None:
                header = _read_header(cells, plan.errors)
                if header is None:
                    return plan
                continue
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            if len(validator.rows) + validator.bad_rows >= MAX_ROWS:
                plan.errors.append(RowError(line, None, _("The file has more than %(limit)s rows.",
                                                          limit=f"{MAX_ROWS:,}".replace(",", "."))))
                return plan
            validator.add(line, header, cells)
    except _BrokenFile as broken:
        plan.errors.append(RowError(broken.line, None, _("The file cannot be read as CSV here: %(detail)s",
                                                         detail=broken.detail)))
        return plan
    plan.errors.extend(validator.errors)
    if not validator.rows and not plan.errors:
        plan.errors.append(RowError(1, None, _("The file contains no offers.")))
    plan.errors.sort(key=lambda error: (error.line, COLUMNS.index(error.column) if error.column in COLUMNS else -1))
    if plan.errors:
        return plan
    plan.rows = validator.rows
    _count_changes(plan)
    return plan


# --- Validating rows -----------------------------------------------------------------------------------------

class _Invalid(Exception):
    """One cell's value is refused; the message is translated."""


class _RowValidator:
    def __init__(self, today: date):
        self.today = today
        self.rows: list[OfferRow] = []
        self.errors: list[RowError] = []
        self.bad_rows = 0
        self.key_lines: dict[str, int] = {}
        self.suppliers: dict[str, tuple[int, dict[str, object]]] = {}  # cvr → (first line, name/type/ean)

    def add(self, line: int, header: list[str], cells: list[str]) -> None:
        while len(cells) > len(header) and not cells[-1].strip():
            cells = cells[:-1]  # trailing delimiters, as some spreadsheets write them
        if len(cells) != len(header):
            self.errors.append(RowError(line, None, _("Expected %(expected)s values, found %(found)s.",
                                                      expected=len(header), found=len(cells))))
            self.bad_rows += 1
            return
        raw = dict.fromkeys(COLUMNS, "")
        raw.update(zip(header, (_clean(cell) for cell in cells), strict=True))
        errors_before = len(self.errors)
        values: dict[str, object] = {}
        for name in COLUMNS:
            if _CONTROL.search(raw[name]):
                self._error(line, name, _("The value contains a control character."))
                continue
            try:
                values[name] = getattr(self, f"_{name}")(raw[name])
            except _Invalid as invalid:
                self._error(line, name, str(invalid))
        self._across_columns(line, values)
        self._across_rows(line, values)
        if len(self.errors) > errors_before:
            self.bad_rows += 1
            return
        self.rows.append(OfferRow(line=line, **values))

    def _error(self, line: int, column: str | None, message: str) -> None:
        self.errors.append(RowError(line, column, message))

    def _across_columns(self, line: int, values: dict) -> None:
        places, vacancies = values.get("places"), values.get("vacancies")
        if places is not None and vacancies is not None and vacancies > places:
            self._error(line, "vacancies", _("Vacancies (%(vacancies)s) exceed places (%(places)s).",
                                             vacancies=vacancies, places=places))
        if values.get("approval_status") == "approved" and "approved_on" in values and not values["approved_on"]:
            self._error(line, "approved_on", _("Approved offers need the date of approval."))

    def _across_rows(self, line: int, values: dict) -> None:
        key = values.get("key")
        if key:
            first = self.key_lines.setdefault(key, line)
            if first != line:
                self._error(line, "key", _("The key %(key)s is used on line %(line)s already.", key=key, line=first))
        cvr = values.get("supplier_cvr")
        if not cvr:
            return
        supplier = {name: values[name] for name in _SUPPLIER_FIELDS if name in values}
        first_line, first = self.suppliers.setdefault(cvr, (line, supplier))
        if first_line == line:
            return
        messages = {
            "supplier_name": _("CVR %(cvr)s has another supplier name on line %(line)s.", cvr=cvr, line=first_line),
            "supplier_type": _("CVR %(cvr)s has another supplier type on line %(line)s.", cvr=cvr, line=first_line),
            "supplier_ean": _("CVR %(cvr)s has another EAN on line %(line)s.", cvr=cvr, line=first_line),
        }
        for name, message in messages.items():
            if name in supplier and name in first and supplier[name] != first[name]:
                self._error(line, name, message)

    # One method per column: the cleaned text in, the Python value out, or _Invalid.

    @staticmethod
    def _required(value: str, name: str) -> str:
        if not value:
            raise _Invalid(_("A value is required."))
        return _text(value, name)

    def _key(self, value: str) -> str:
        return self._required(value, "key")

    def _supplier_cvr(self, value: str) -> str:
        cvr = value.replace(" ", "")
        if not _CVR.fullmatch(cvr):
            raise _Invalid(_("A CVR number is exactly 8 digits: %(value)s", value=value) if value
                           else _("A value is required."))
        return cvr

    def _supplier_name(self, value: str) -> str:
        return self._required(value, "supplier_name")

    def _supplier_ean(self, value: str) -> str | None:
        ean = value.replace(" ", "")
        if ean and not _EAN.fullmatch(ean):
            raise _Invalid(_("An EAN number is 13 digits: %(value)s", value=value))
        return ean or None

    def _supplier_type(self, value: str) -> str:
        return _choice(value, SUPPLIER_TYPES, _("Unknown supplier type: %(value)s", value=value))

    def _offer_name(self, value: str) -> str:
        return self._required(value, "offer_name")

    def _address(self, value: str) -> str | None:
        return _text(value, "address") or None

    def _municipality_code(self, value: str) -> str:
        if not value:
            raise _Invalid(_("A value is required."))
        if value not in municipalities.BY_CODE:
            raise _Invalid(_("Unknown municipality code: %(code)s", code=value))
        return value

    def _legal_bases(self, value: str) -> list[str]:
        codes = _codes(value, str.upper)
        if not codes:
            raise _Invalid(_("At least one legal basis is required."))
        _known(codes, legal_basis.BY_CODE, lambda code: _("Unknown legal basis: %(code)s", code=code))
        return codes

    def _target_groups(self, value: str) -> list[str]:
        codes = _codes(value, str.lower)
        _known(codes, TARGET_GROUP_LABELS, lambda code: _("Unknown target group: %(code)s", code=code))
        return codes

    def _service_types(self, value: str) -> list[str]:
        codes = _codes(value, str.lower)
        _known(codes, SERVICE_TYPE_LABELS, lambda code: _("Unknown service type: %(code)s", code=code))
        return codes

    def _places(self, value: str) -> int:
        return _count(value)

    def _vacancies(self, value: str) -> int:
        return _count(value)

    def _list_price(self, value: str) -> Decimal:
        if not value:
            raise _Invalid(_("A value is required."))
        try:
            price = parse_money(value)
        except ValueError as error:
            raise _Invalid(_("Not an amount: %(value)s", value=value)) from error
        if price <= 0:
            raise _Invalid(_("The price must be greater than 0: %(value)s", value=value))
        if price > MAX_PRICE:
            raise _Invalid(_("The price is too large: %(value)s", value=value))
        return price

    def _price_unit(self, value: str) -> str:
        return _choice(value, PRICE_UNITS, _("Unknown price unit: %(value)s", value=value))

    def _price_effective_from(self, value: str) -> date:
        return _date(value)

    def _approval_status(self, value: str) -> str:
        if not value:
            raise _Invalid(_("A value is required."))
        status = APPROVAL_WORDS.get(" ".join(value.lower().split()))
        if status is None:
            raise _Invalid(_("Unknown approval status: %(value)s", value=value))
        return status

    def _approved_on(self, value: str) -> date | None:
        return _date(value) if value else None

    def _framework_agreement(self, value: str) -> bool:
        word = value.lower()
        if word in YES:
            return True
        if word in NO:
            return False
        raise _Invalid(_("Not yes or no (ja/nej): %(value)s", value=value))

    def _framework_name(self, value: str) -> str | None:
        return _text(value, "framework_name") or None

    def _data_updated_on(self, value: str) -> date:
        day = _date(value)
        if day > self.today:
            raise _Invalid(_("The date is in the future: %(value)s", value=value))
        return day

    def _quality_note(self, value: str) -> str | None:
        return _text(value, "quality_note") or None


def _text(value: str, name: str) -> str:
    limit = MAX_LENGTHS.get(name)
    if limit is not None and len(value) > limit:
        raise _Invalid(_("Too long: at most %(limit)s characters.", limit=limit))
    return value


def _choice(value: str, allowed: Iterable[str], unknown: str) -> str:
    if not value:
        raise _Invalid(_("A value is required."))
    word = value.lower()
    if word not in allowed:
        raise _Invalid(unknown)
    return word


def _codes(value: str, normalise) -> list[str]:
    return sorted({normalise(code.strip()) for code in value.split(CODE_SEPARATOR) if code.strip()})


def _known(codes: list[str], known, unknown) -> None:
    bad = [code for code in codes if code not in known]
    if bad:
        raise _Invalid("; ".join(unknown(code) for code in bad))


def _count(value: str) -> int:
    if not value:
        raise _Invalid(_("A value is required."))
    if not _DIGITS.fullmatch(value):
        raise _Invalid(_("Not a whole number of 0 or more: %(value)s", value=value))
    number = int(value)
    if number > MAX_PLACES:
        raise _Invalid(_("The number is too large: %(value)s", value=value))
    return number


def _date(value: str) -> date:
    if not value:
        raise _Invalid(_("A value is required."))
    if match := _DMY.fullmatch(value):
        day, month, year = match.groups()
    elif match := _YMD.fullmatch(value):
        year, month, day = match.groups()
    else:
        day = month = year = "0"  # no date at all: refused below like 31-02-2026
    try:
        return date(int(year), int(month), int(day))
    except ValueError as error:
        raise _Invalid(_("Not a date (write dd-mm-yyyy or yyyy-mm-dd): %(value)s", value=value)) from error


# --- Comparing with the database and writing -----------------------------------------------------------------

def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _IN_CHUNKS_OF):
        yield items[start:start + _IN_CHUNKS_OF]


def _existing_offers(keys: Iterable[str]) -> dict[str, Offer]:
    found: dict[str, Offer] = {}
    for chunk in _chunks(sorted(set(keys))):
        query = (select(Offer).where(Offer.key.in_(chunk))
                 .options(selectinload(Offer.terms), selectinload(Offer.supplier)))
        found.update((offer.key, offer) for offer in db.session.scalars(query))
    return found


def _existing_suppliers(cvrs: Iterable[str]) -> dict[str, Supplier]:
    found: dict[str, Supplier] = {}
    for chunk in _chunks(sorted(set(cvrs))):
        found.update((supplier.cvr, supplier) for supplier in
                     db.session.scalars(select(Supplier).where(Supplier.cvr.in_(chunk))))
    return found


def _supplier_changed(supplier: Supplier, row: OfferRow) -> bool:
    return any(getattr(supplier, attr) != getattr(row, name) for name, attr in _SUPPLIER_FIELDS.items())


def _offer_changed(offer: Offer, row: OfferRow) -> bool:
    if offer.supplier.cvr != row.supplier_cvr:
        return True
    if any(getattr(offer, attr) != getattr(row, name) for name, attr in _OFFER_FIELDS.items()):
        return True
    return any(offer.codes(kind) != getattr(row, name) for name, kind in TERM_KINDS)


def _price_changed(offer: Offer, row: OfferRow) -> bool:
    return (offer.list_price != row.list_price or offer.price_unit != row.price_unit
            or offer.price_effective_from != row.price_effective_from)


def _first_row_per_supplier(rows: list[OfferRow]) -> dict[str, OfferRow]:
    first: dict[str, OfferRow] = {}
    for row in rows:
        first.setdefault(row.supplier_cvr, row)
    return first


def _count_changes(plan: ImportPlan) -> None:
    with db.session.no_autoflush:
        suppliers = _existing_suppliers(row.supplier_cvr for row in plan.rows)
        offers = _existing_offers(row.key for row in plan.rows)
        for cvr, row in _first_row_per_supplier(plan.rows).items():
            if cvr not in suppliers:
                plan.new_suppliers += 1
            elif _supplier_changed(suppliers[cvr], row):
                plan.updated_suppliers += 1
        for row in plan.rows:
            offer = offers.get(row.key)
            if offer is None:
                plan.new_offers += 1
            elif _offer_changed(offer, row):
                plan.updated_offers += 1
            else:
                plan.unchanged_offers += 1


def _as_offer_input(row: OfferRow) -> registry.OfferInput:
    return registry.OfferInput(
        key=row.key, name=row.offer_name, municipality=row.municipality_code, list_price=row.list_price,
        price_unit=row.price_unit, price_effective_from=row.price_effective_from,
        approval_status=row.approval_status, data_updated_on=row.data_updated_on, address=row.address or "",
        legal_bases=row.legal_bases, target_groups=row.target_groups, service_types=row.service_types,
        places=row.places, vacancies=row.vacancies, approved_on=row.approved_on,
        framework_agreement=row.framework_agreement, framework_name=row.framework_name or "",
        quality_note=row.quality_note or "")


def can_import(user: User) -> bool:
    """Whether the user may upload, preview and import registry files."""
    return user.has_role(*IMPORTERS)


def store_for_preview(filename: str, text: str, uploader: User) -> OfferImport:
    """Keep an uploaded file until it is confirmed, so the preview and the import read the same text."""
    filename = re.sub(r"[\x00-\x1f\x7f]", "", filename)[:200] or "offers.csv"
    batch = OfferImport(filename=filename, content=text, uploaded_by_id=uploader.id, status="preview")
    db.session.add(batch)
    db.session.flush()
    audit.record("offers.import_uploaded", batch, {"filename": batch.filename}, actor=uploader)
    return batch


def apply_import(plan: ImportPlan, actor: User | None) -> dict[str, int]:
    """Write the plan's rows; the caller commits (or rolls back) once. Returns the counts of what changed.

    The counts are taken again against the database as it is now, so a plan that was made a while ago
    still reports what this import actually did.
    """
    if not plan.ok:
        raise ServiceError(_("The file has errors and cannot be imported."))
    summary = {"rows": len(plan.rows), "new_offers": 0, "updated_offers": 0, "unchanged_offers": 0,
               "new_suppliers": 0, "updated_suppliers": 0, "new_prices": 0}
    with db.session.no_autoflush:
        suppliers = _existing_suppliers(row.supplier_cvr for row in plan.rows)
        offers = _existing_offers(row.key for row in plan.rows)
        for cvr, row in _first_row_per_supplier(plan.rows).items():
            supplier = suppliers.get(cvr)
            if supplier is None:
                supplier = suppliers[cvr] = Supplier(cvr=cvr)
                db.session.add(supplier)
                summary["new_suppliers"] += 1
            elif _supplier_changed(supplier, row):
                summary["updated_suppliers"] += 1
            for name, attr in _SUPPLIER_FIELDS.items():
                if getattr(supplier, attr) != getattr(row, name):
                    setattr(supplier, attr, getattr(row, name))
        for row in plan.rows:
            offer = offers.get(row.key)
            if offer is None:
                offer = Offer(key=row.key, supplier=suppliers[row.supplier_cvr], active=True)
                db.session.add(offer)
                summary["new_offers"] += 1
                new_price = True
            else:
                summary["updated_offers" if _offer_changed(offer, row) else "unchanged_offers"] += 1
                new_price = _price_changed(offer, row)
                if offer.supplier.cvr != row.supplier_cvr:
                    offer.supplier = suppliers[row.supplier_cvr]
            registry.apply_offer(offer, _as_offer_input(row))  # the one place for fields and price history
            if new_price:
                summary["new_prices"] += 1
    db.session.flush()
    audit.record("offers.imported", details=dict(summary), actor=actor, object_type="offers")
    return summary


def apply_stored(batch: OfferImport, actor: User, plan: ImportPlan | None = None) -> dict[str, int]:
    """Import an uploaded file, once; the caller commits (or rolls back). Returns the counts of what changed.

    A file that has been handled already is refused, also when two people confirm it at the same time:
    the batch is claimed with a conditional update, which the second one finds done.
    `plan` is the file's plan when the caller has made it already.
    """
    if batch.status != "preview":
        raise ServiceError(_("This file has been handled already."))
    claimed = db.session.execute(
        update(OfferImport).where(OfferImport.id == batch.id, OfferImport.status == "preview")
        .values(status="applied").execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise ServiceError(_("This file has been handled already."))
    summary = apply_import(plan if plan is not None else plan_import(batch.content), actor)
    batch.status, batch.summary = "applied", summary
    return summary
