"""A citizen's access-log extract for a data-subject access request: admins only, found by a CPR number that only
ever travels in a POST body, itself logged as a read and audited, downloadable as PDF and CSV."""
from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from tests.factories import make_case
from workflow import cpr as cpr_rules
from workflow.extensions import db
from workflow.models import AccessLog, AuditEvent, Role
from workflow.models.types import utcnow
from workflow.services import users as user_service

CPR = "0202851234"
READER = "Birgitte Læsesen"          # a member of staff whose name must not reach the citizen
PAGE = "/admin/access-extract"
DOWNLOAD = "/admin/access-extract/download"
TOKEN = re.compile(r'name="token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="token"')


@pytest.fixture
def reads(staff, make_client):
    """A case of CPR's citizen read by the reader (page, full CPR) and a manager; another citizen read too."""
    reader = user_service.create_user(login="birgitte", full_name=READER, email="b@example.org",
                                      role=Role.CASEWORKER, unit=staff.caseworker.unit, password=PASSWORD)
    db.session.commit()
    case = make_case(staff.caseworker, name="Hanne Indsigt", cpr=CPR)
    other = make_case(staff.caseworker, name="Ole Anden")
    web = make_client("birgitte")
    assert web.get(f"/cases/{case.id}").status_code == 200
    assert web.submit(f"/cases/{case.id}/cpr", {}, form_page="/").status_code == 200
    assert make_client("manager").get(f"/cases/{case.id}").status_code == 200
    assert web.get(f"/cases/{other.id}").status_code == 200
    return {"case": case, "other": other, "reader": reader}


def admin_client(make_client, language: str = "en"):
    admin = make_client("admin")
    admin.submit("/language", {"language": language, "next": "/"}, form_page="/")
    return admin


def count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def logged_for(citizen_id: int) -> list[AccessLog]:
    db.session.expire_all()
    return list(db.session.scalars(select(AccessLog).where(AccessLog.citizen_id == citizen_id)
                                   .order_by(AccessLog.id)))


def token_of(response) -> str:
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, "no download form on the page"
    return match.group(1) or match.group(2)


def assert_no_cpr(text: str) -> None:
    assert CPR not in text.replace("-", "") and cpr_rules.formatted(CPR) not in text


# --- Who may ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [role.value for role in Role])
def test_the_extract_is_for_admins_only(staff, make_client, db, role):
    make_case(staff.caseworker, cpr=CPR)
    client = make_client(role)
    allowed = role == "admin"
    assert client.get(PAGE).status_code == (200 if allowed else 403)
    answer = client.submit(PAGE, {"cpr": cpr_rules.formatted(CPR)}, form_page="/")
    assert answer.status_code == (200 if allowed else 403)
    assert count(AccessLog, action="access_extract") == (1 if allowed else 0)
    assert client.submit(DOWNLOAD, {"token": "x", "format": "pdf"}, form_page="/").status_code == (
        400 if allowed else 403)
    menu = client.get("/").get_data(as_text=True)
    assert (f'href="{PAGE}"' in menu) == allowed


# --- The extract -----------------------------------------------------------------------------------------------

def test_the_extract_lists_every_read_with_unit_role_and_purpose_and_names_no_staff(reads, make_client, staff):
    case = reads["case"]
    before = logged_for(case.citizen_id)
    # The reader's page, the full number (its page is read again), the manager's page.
    assert [row.action for row in before] == ["case.view", "cpr.show", "case.view", "case.view"]
    admin = admin_client(make_client)

    answer = admin.submit(PAGE, {"cpr": cpr_rules.formatted(CPR)})

    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Location" not in answer.headers
    assert "Extract for Hanne Indsigt, 020285-xxxx" in body
    table = body[body.index("<tbody>"):body.index("</tbody>")]
    rows = re.findall(r"<tr>.*?</tr>", table, re.S)
    assert len(rows) == 4
    assert all(str(row.id) in found for row, found in zip(before, rows, strict=True))   # oldest first
    assert "The case: name, masked CPR number and case details" in rows[0] and "Sagsside" in rows[0]
    assert "The full CPR number" in rows[1] and "Vis CPR-nummer på sagen" in rows[1]
    assert "Voksenhandicap" in rows[0] and "Caseworker" in rows[0] and "Manager" in rows[3]
    assert case.number in rows[0]
    assert READER not in body and "Birgitte" not in body and "Ole Anden" not in body
    assert_no_cpr(body)     # nor echoed back into the form

    # Producing it is a read of the citizen's data for the purpose "indsigtsanmodning", and audited without CPR.
    after = logged_for(case.citizen_id)
    assert len(after) == 5
    extract_read = after[-1]
    assert (extract_read.action, extract_read.user_id, extract_read.case_id) == ("access_extract", staff.admin.id,
                                                                                   None)
    assert extract_read.purpose.startswith("Indsigtsanmodning")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "citizen.access_extract")).one()
    assert (event.actor_id, event.object_type, event.object_id) == (staff.admin.id, "citizens", case.citizen_id)
    assert event.details == {"format": "page", "reads": 4}
    assert_no_cpr(str(event.details))

    # The next extract shows that one too.
    again = admin.submit(PAGE, {"cpr": CPR}).get_data(as_text=True)
    assert "The access log (an extract like this one)" in again and "Administrator" in again


def test_the_cpr_number_is_in_no_url_location_or_log_line(reads, make_client, caplog):
    admin = admin_client(make_client)
    with caplog.at_level(logging.DEBUG):
        answer = admin.submit(PAGE, {"cpr": cpr_rules.formatted(CPR)})
        token = token_of(answer)
        download = admin.submit(DOWNLOAD, {"token": token, "format": "csv"}, form_page=PAGE)
    for response, path in ((answer, PAGE), (download, DOWNLOAD)):
        assert response.request.path == path and not response.request.query_string
        assert "Location" not in response.headers
        assert_no_cpr(response.request.url)
        assert_no_cpr(response.headers.get("Content-Disposition", ""))
    assert_no_cpr(token)
    for record in caplog.records:
        assert_no_cpr(record.getMessage())
    # The page holds no form field or link carrying the number.
    assert_no_cpr(answer.get_data(as_text=True))


def test_a_bad_cpr_number_gets_a_clear_message_and_nothing_is_logged(reads, make_client):
    admin = admin_client(make_client)
    logged, audited = count(AccessLog), count(AuditEvent)
    for typed in ("", "12345", "020285-12345", "320185-1234", "abcdef-ghij", "0202851234" * 3):

        answer = admin.submit(PAGE, {"cpr": typed})

        body = answer.get_data(as_text=True)
        assert answer.status_code == 422, typed
        assert 'aria-invalid="true"' in body and "There is a problem" in body
        assert ("This field is required." if not typed else "Field cannot be longer than 20 characters."
                if len(typed) > 20 else "The CPR number is not valid. Write it as DDMMYY-SSSS.") in body, typed
        assert "<tbody>" not in body and (not typed or typed not in body)
    assert (count(AccessLog), count(AuditEvent)) == (logged, audited)


def test_an_unknown_cpr_number_finds_no_citizen_and_logs_no_read(reads, make_client):
    admin = admin_client(make_client)
    logged, audited = count(AccessLog), count(AuditEvent)

    answer = admin.submit(PAGE, {"cpr": "030385-4321"})

    body = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "No citizen has that CPR number." in body
    assert "030385-4321" not in body and "0303854321" not in body
    assert (count(AccessLog), count(AuditEvent)) == (logged, audited)


# --- Downloads -------------------------------------------------------------------------------------------------

def test_the_extract_downloads_as_pdf_and_csv_each_logged(reads, make_client, staff):
    case = reads["case"]
    admin = admin_client(make_client)
    token = token_of(admin.submit(PAGE, {"cpr": CPR}))

    pdf = admin.submit(DOWNLOAD, {"token": token, "format": "pdf"}, form_page=PAGE)
    csv = admin.submit(DOWNLOAD, {"token": token, "format": "csv"}, form_page=PAGE)

    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    flat = re.sub(r"\s+", " ", text)
    assert "Hanne Indsigt, 020285-xxxx" in flat and "Vis CPR-nummer på sagen" in flat and case.number in flat
    assert "Voksenhandicap" in flat and READER not in flat
    assert_no_cpr(text)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 6 and lines[0].count(";") == 6          # header; 4 reads, the page's and the PDF's
    assert "Sagsside" in lines[1] and case.number in lines[1]
    assert "Indsigtsanmodning: udtræk af adgangsloggen (side)" in lines[5] and "(PDF)" in lines[6]
    assert READER not in csv.data.decode("utf-8-sig")
    assert_no_cpr(csv.data.decode("utf-8-sig"))
    for response in (pdf, csv):
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and "Hanne" not in disposition
    reads_logged = [row.purpose for row in logged_for(case.citizen_id) if row.action == "access_extract"]
    assert [purpose.rsplit(" ", 1)[1] for purpose in reads_logged] == ["(side)", "(PDF)", "(CSV)"]
    formats = [event.details["format"] for event in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "citizen.access_extract").order_by(AuditEvent.id))]
    assert formats == ["page", "pdf", "csv"]


def test_a_download_needs_a_fresh_token_of_the_same_admin(reads, make_client, staff, db):
    admin = admin_client(make_client)
    token = token_of(admin.submit(PAGE, {"cpr": CPR}))
    second = user_service.create_user(login="admin2", full_name="Anden Admin", email="a2@example.org",
                                      role=Role.ADMIN, unit=staff.admin.unit, password=PASSWORD)
    db.session.commit()
    other_admin = make_client("admin2")
    logged = count(AccessLog)

    assert other_admin.submit(DOWNLOAD, {"token": token, "format": "csv"}, form_page="/").status_code == 400
    assert admin.submit(DOWNLOAD, {"token": token[:-2] + "xx", "format": "csv"}, form_page="/").status_code == 400
    assert admin.submit(DOWNLOAD, {"token": token, "format": "xlsx"}, form_page="/").status_code == 400
    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        expired = admin.submit(DOWNLOAD, {"token": token, "format": "csv"}, form_page="/")
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    assert count(AccessLog) == logged and second.role == Role.ADMIN
