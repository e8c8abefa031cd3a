"""An administrator produces a citizen's access-log extract in Chromium: the form, its errors and the extract pass
axe-core's WCAG 2.1 AA rules, and the CPR number never reaches the address bar or the file name."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser.conftest import assert_accessible, new_page, sign_in
from workflow import cpr
from workflow.models import PurchaseCase, User

pytestmark = pytest.mark.browser


def test_admin_produces_an_access_extract(page, demo, db, browser, live_server):
    caseworker = db.session.scalar(select(User).where(User.login == "caseworker"))
    case = db.session.scalars(select(PurchaseCase).where(PurchaseCase.unit_id == caseworker.unit_id)
                              .order_by(PurchaseCase.id)).first()
    number, full_cpr = case.number, cpr.formatted(case.citizen.cpr)
    reader = new_page(browser, live_server)      # a read for the extract to show
    sign_in(reader, "caseworker")
    reader.goto(f"/cases/{case.id}")
    reader.context.close()

    sign_in(page, "admin")
    page.click('nav a[href="/admin/access-extract"]')
    assert page.locator("h1").count() == 1 and page.locator("#cpr").is_visible()
    assert_accessible(page)

    page.fill("#cpr", "12345")
    page.click("main button[type=submit].button-primary")
    assert page.locator("#error-summary").is_visible()
    assert page.locator("#cpr").get_attribute("aria-invalid") == "true"
    assert_accessible(page)

    page.fill("#cpr", full_cpr)
    page.click("main button[type=submit].button-primary")
    assert page.locator("#extract-heading").is_visible()
    rows = page.locator("main table tbody tr")
    assert rows.count() >= 1 and number in page.locator("main table").inner_text()
    assert page.locator("main table caption").inner_text()
    assert page.url.endswith("/admin/access-extract") and full_cpr[:6] not in page.url
    assert full_cpr not in page.content() and page.locator("#cpr").input_value() == ""
    assert_accessible(page)

    with page.expect_download() as download:
        page.click("button[name=format][value=csv]")
    assert download.value.suggested_filename.endswith(".csv")
    assert full_cpr[:6] not in download.value.suggested_filename
