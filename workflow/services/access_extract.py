"""A citizen's access-log extract for a data-subject access request (GDPR art. 15; DOMAIN.md "Sensitive data").

An administrator finds the citizen by CPR number and gets every logged read of their data: when, what was read,
why (the purpose the page or API call logged), in which case, and by whom – as the reader's unit and role, not
their name. The citizen is entitled to the recipients or categories of recipients (art. 15(1)(c)); the Court of
Justice held in C-579/21 (Pankki S, 22 June 2023) that the dates and purposes of the consultations must be given,
but not the identity of the employees who made them, as they act under the municipality's authority. Each row
carries the log's reference number, so the municipality can still name the person when a complaint needs it.

Producing an extract is itself a read of the citizen's data for the purpose "indsigtsanmodning": it is written to
the access log (and so shows in the next extract) and to the audit trail, never with the CPR number. An unknown
CPR number produces nothing and logs nothing.

The PDF and the CSV are Danish documents whatever the administrator's language, like the other exports.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflow import cpr
from workflow.extensions import db
from workflow.i18n import timestamp
from workflow.models import AccessLog, Citizen, PurchaseCase, User
from workflow.models.types import utcnow
from workflow.pdf import render_pdf
from workflow.roles import ROLE_LABELS, Role
from workflow.services import audit
from workflow.services.errors import ServiceError
from workflow.services.portfolio_export import neutralise

PURPOSE = "Indsigtsanmodning: udtræk af adgangsloggen"   # stored in Danish, like the other purposes
ACTION = "access_extract"
FORMATS = ("page", "pdf", "csv")
TOKEN_MAX_AGE_SECONDS = 15 * 60     # how long the results page's download buttons work

# What a logged action read, by its code or the area before the dot.
WHAT_WAS_READ = {
    "cpr.show": _l("The full CPR number"),
    "cpr.search": _l("The case, found by CPR number"),
    "case.list": _l("Name and masked CPR number in a list of cases"),
    "case": _l("The case: name, masked CPR number and case details"),
    "needs": _l("The needs assessment"),
    "market_scan": _l("The market scan"),
    "shortlist": _l("The shortlist"),
    "requirement": _l("The anonymised requirement"),
    "dialogue": _l("The supplier dialogue"),
    "contract": _l("The contract"),
    "followup": _l("The follow-up"),
    ACTION: _l("The access log (an extract like this one)"),
}


class NoSuchCitizen(ServiceError):
    """No citizen has the CPR number (or they have been anonymised)."""


@dataclass(frozen=True)
class Read:
    reference: int       # the access log's row id
    read_at: datetime
    case_number: str
    action: str          # the logged code; what_was_read() says it in the reader's language
    purpose: str
    unit: str
    role: str            # the role's code; role_label() says it

    @property
    def what(self) -> str:
        return what_was_read(self.action)

    @property
    def role_label(self) -> str:
        return str(ROLE_LABELS.get(self.role, self.role))


@dataclass(frozen=True)
class Extract:
    citizen_id: int
    citizen_name: str
    cpr_masked: str
    made_at: datetime
    reads: list[Read]


def what_was_read(action: str) -> str:
    label = WHAT_WAS_READ.get(action) or WHAT_WAS_READ.get(action.split(".", 1)[0])
    return str(label) if label is not None else action


def find_citizen(cpr_text: str) -> Citizen:
    """The citizen with this CPR number; ServiceError on the field "cpr" when it is malformed or unknown."""
    try:
        number, _born = cpr.parse(cpr_text)
    except cpr.InvalidCPR as error:
        raise ServiceError(_("The CPR number is not valid. Write it as DDMMYY-SSSS."), "cpr") from error
    citizen = db.session.scalar(select(Citizen).where(Citizen.cpr == number))
    if citizen is None:
        raise NoSuchCitizen(_("No citizen has that CPR number."), "cpr")
    return citizen


def produce(admin: User, citizen: Citizen, kind: str) -> Extract:
    """The extract of every read of the citizen's data, oldest first; this production is logged and audited."""
    if admin.role != Role.ADMIN:
        raise ServiceError(_("Only administrators produce access-log extracts."))
    if kind not in FORMATS:
        raise ValueError(kind)
    rows = db.session.execute(
        select(AccessLog, PurchaseCase.number).outerjoin(PurchaseCase, AccessLog.case_id == PurchaseCase.id)
        .where(AccessLog.citizen_id == citizen.id).options(selectinload(AccessLog.user).selectinload(User.unit))
        .order_by(AccessLog.occurred_at, AccessLog.id)).all()
    # The reader's unit and role as they are now: the log keeps who read, not their unit at the time.
    reads = [Read(reference=row.id, read_at=row.occurred_at, case_number=number or "–", action=row.action,
                  purpose=row.purpose, unit=row.user.unit.name, role=row.user.role) for row, number in rows]
    extract = Extract(citizen_id=citizen.id, citizen_name=citizen.display_name, cpr_masked=citizen.cpr_masked,
                      made_at=utcnow(), reads=reads)
    db.session.add(AccessLog(user_id=admin.id, citizen_id=citizen.id, case_id=None, action=ACTION,
                             purpose=f"{PURPOSE} ({kind.upper() if kind != 'page' else 'side'})"))
    audit.record("citizen.access_extract", citizen, {"format": kind, "reads": len(reads)}, actor=admin)
    return extract


# --- Downloading from the results page: a signed, short-lived reference instead of the CPR number ---

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="access-extract")


def download_token(admin: User, citizen: Citizen) -> str:
    """What the results page's download forms post back: the citizen's id, for this admin, for a while."""
    return _serializer().dumps({"citizen": citizen.id, "admin": admin.id})


def citizen_from_token(admin: User, token: str) -> Citizen:
    try:
        data = _serializer().loads(token or "", max_age=TOKEN_MAX_AGE_SECONDS)
    except BadSignature as error:   # also when it has expired
        raise ServiceError(_("The extract has expired. Find the citizen by CPR number again.")) from error
    citizen = db.session.get(Citizen, data.get("citizen")) if data.get("admin") == admin.id else None
    if citizen is None or citizen.anonymised:
        raise ServiceError(_("The extract has expired. Find the citizen by CPR number again."))
    return citizen


def filename(extract: Extract, extension: str) -> str:
    """No name or CPR number in a file name: the citizen's id and the day."""
    return f"adgangslog-borger-{extract.citizen_id}-{extract.made_at:%Y-%m-%d}.{extension}"


def csv_bytes(extract: Extract) -> bytes:
    """The reads as CSV for Danish Excel (UTF-8 with BOM, `;`), text neutralised against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    with force_locale("da"):
        writer.writerow([_("Reference"), _("Time"), _("Case"), _("What was read"), _("Purpose"), _("Unit"),
                         _("Role")])
        for read in extract.reads:
            writer.writerow([read.reference, timestamp(read.read_at), neutralise(read.case_number),
                             *(neutralise(text) for text in (read.what, read.purpose, read.unit, read.role_label))])
    return buffer.getvalue().encode("utf-8-sig")


def pdf_bytes(extract: Extract) -> bytes:
    """The extract as a Danish A4 PDF/A for the citizen."""
    with force_locale("da"):
        data = {
            "municipality": current_app.config["MUNICIPALITY_NAME"],
            "citizen_name": extract.citizen_name,
            "cpr_masked": extract.cpr_masked,
            "made_at": timestamp(extract.made_at),
            "reads": [{"reference": read.reference, "read_at": timestamp(read.read_at), "case": read.case_number,
                       "what": read.what, "purpose": read.purpose, "unit": read.unit, "role": read.role_label}
                      for read in extract.reads],
        }
        return render_pdf("admin/access_extract_pdf.html", d=data)
