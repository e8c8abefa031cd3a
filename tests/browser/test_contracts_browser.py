"""Contract terms and approval in Chromium: procurement drafts and submits, economy reviews, a manager below the
tier is refused (no button, and a direct POST changes nothing), one above approves, and the PDF downloads."""
from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from tests.browser.conftest import assert_accessible, fresh, open_as, sign_in
from tests.conftest import PASSWORD
from tests.support.contracts import build_terms_case, make_manager
from workflow.models import ContractVersion, PurchaseCase
from workflow.process import Stage
from workflow.services import contracts

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("mail_to_outbox")]


def test_terms_drafted_submitted_reviewed_refused_below_tier_and_approved(page, browser, live_server, app, db,
                                                                         staff):
    case = build_terms_case(app, staff)                          # stage 4, chosen reply at 2.450,50 a day
    teamleder = make_manager(staff, "teamleder", "500000")
    db.session.commit()
    terms = f"/cases/{case.id}/contract"

    # Procurement drafts the terms from the chosen reply, edits and submits them.
    sign_in(page, "procurement", PASSWORD)
    page.goto(terms)
    assert_accessible(page)
    page.click(f"form[action='{terms}/start'] button[type=submit]")
    assert page.locator(".alert-success").count() == 1
    assert page.locator("#lines-0-unit_price").input_value() in ("2.450,50", "2450,50", "2450.50")
    assert_accessible(page)
    page.fill("#payment_days", "14")
    page.locator("form[novalidate] button[type=submit]").last.click()
    assert page.locator(".alert-success").count() == 1
    contract = contracts.current(fresh(db, PurchaseCase, case.id))
    assert contract.payment_days == 14 and contract.status == "draft"
    page.click(f"form[action='{terms}/submit'] button[type=submit]")
    assert page.locator(".alert-success").count() == 1
    assert page.locator(f"form[action='{terms}/review']").count() == 0    # the submitter does not review
    assert fresh(db, ContractVersion, contract.id).status == "submitted"

    # Economy reviews.
    economy = open_as(browser, live_server, "economy", terms)
    economy.click(f"form[action='{terms}/review'] button[type=submit]")
    assert economy.locator(".alert-success").count() == 1
    assert fresh(db, ContractVersion, contract.id).status == "reviewed"
    economy.context.close()

    # A manager whose limit (500.000) is below the annual cost (894.432,50) has no approve button ...
    low = open_as(browser, live_server, teamleder.login, terms)
    assert low.locator(f"form[action='{terms}/approve']").count() == 0
    assert_accessible(low)
    # ... and a direct POST is refused by the server and changes nothing.
    token = low.locator("input[name=csrf_token]").first.input_value()
    version = str(fresh(db, PurchaseCase, case.id).version)
    response = low.request.post(f"{live_server}{terms}/approve", form={"csrf_token": token, "version": version},
                                max_redirects=0)
    assert response.status == 303
    saved = fresh(db, ContractVersion, contract.id)
    assert (saved.status, saved.approved_by_id, saved.pdf) == ("reviewed", None, None)
    assert fresh(db, PurchaseCase, case.id).stage == Stage.APPROVAL
    # The reject page, empty and with the missing reason shown, is accessible; nothing is rejected.
    low.goto(f"{terms}/reject")
    assert_accessible(low)
    low.locator("main form button[type=submit]").click()
    assert low.locator("#reason").count() == 1
    assert_accessible(low)
    assert fresh(db, ContractVersion, contract.id).status == "reviewed"
    low.context.close()

    # A manager within the limit approves; the archived PDF downloads.
    manager = open_as(browser, live_server, "manager", terms)
    manager.click(f"form[action='{terms}/approve'] button[type=submit]")
    assert manager.locator(".alert-success").count() == 1
    assert_accessible(manager)
    saved = fresh(db, ContractVersion, contract.id)
    assert (saved.status, saved.approved_by_id) == ("approved", staff.manager.id)
    assert saved.annual_cost == Decimal("894432.50")
    download = manager.request.get(f"{live_server}/cases/{case.id}/contract.pdf")
    assert download.status == 200
    assert download.headers["content-type"].startswith("application/pdf")
    body = download.body()
    assert body.startswith(b"%PDF-") and hashlib.sha256(body).hexdigest() == saved.pdf_sha256
    manager.context.close()
