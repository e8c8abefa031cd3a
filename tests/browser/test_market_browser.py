"""Procurement imports offers in Chromium; a caseworker runs a market scan and shortlists three."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import assert_accessible, new_page, sign_in

pytestmark = pytest.mark.browser
EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "offers-example.csv"


def test_import_then_scan_and_shortlist(page, demo, browser, live_server):
    sign_in(page, "procurement")
    page.goto("/offers")
    assert_accessible(page)
    page.click("text=Importér CSV")
    assert_accessible(page)
    page.set_input_files("#file", str(EXAMPLE))
    page.click("main button.button-primary[type=submit]")
    assert "/offers/import/" in page.url
    assert_accessible(page)
    page.click("main form button[type=submit]")
    assert page.url.endswith("/offers")
    assert page.locator(".alert-success").count() == 1

    scan = new_page(browser, live_server)
    sign_in(scan, "caseworker")
    scan.goto("/cases?scope=unit&stage=market_scan")
    scan.locator("table.case-table tbody tr a").first.click()
    scan.click("text=Åbn markedsafdækningen")
    assert "/market-scan" in scan.url
    assert_accessible(scan)
    already = scan.locator(".shortlist-box tbody tr").count()
    for index in range(3):
        row = scan.locator("article.scan-row:has(form.shortlist-add)").first
        row.locator("textarea").fill(f"Begrundelse {index + 1}")
        row.locator("button[type=submit]").click()
        assert scan.locator(".alert-success").count() == 1
    assert scan.locator(".shortlist-box tbody tr").count() == already + 3
    notes = [area.input_value() for area in scan.locator(".shortlist-box textarea").all()]
    assert {"Begrundelse 1", "Begrundelse 2", "Begrundelse 3"} <= set(notes)
    scan.locator("article.scan-row details summary").first.click()
    assert_accessible(scan)
    scan.context.close()
