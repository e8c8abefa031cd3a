"""A caseworker opens and assesses a case in Chromium and hands it on; procurement finds it."""
from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, new_page, sign_in

pytestmark = pytest.mark.browser


def test_case_from_needs_to_market_scan(page, demo, browser, live_server):
    sign_in(page, "caseworker")
    page.goto("/cases?scope=unit")
    assert_accessible(page)
    page.click("text=Opret en ny sag")
    assert page.url.endswith("/cases/new")
    assert_accessible(page)
    page.fill("#cpr", "241085-4321")
    page.fill("#citizen_name", "Bent Browsertest")
    page.select_option("#home_municipality", label="Aarhus")
    page.select_option("#legal_basis", value="SEL-108")
    page.select_option("#target_group", value="acquired_brain_injury")
    page.fill("#desired_start", "01-03-2027")
    page.fill("#budget_frame", "1.100.000")
    page.select_option("#procurement_id", label="Peter Indkøber")
    page.click("main button[type=submit]")
    assert page.url.endswith("/needs")
    assert_accessible(page)

    page.select_option("#themes-0-level", value="3")
    page.fill("#themes-0-narrative", "Har brug for guidning ved indkøb og madlavning.")
    page.select_option("#themes-1-level", value="2")
    page.select_option("#support_need", value="high")
    page.fill("#goals-0-text", "Laver selv aftensmad to gange om ugen")
    page.fill("#goals-0-measure", "Registreres af bostedet")
    page.click("button[name=add_goal]")
    page.select_option("#goals-1-goal_type", value="maintain")
    page.fill("#goals-1-text", "Fastholder kontakten til sin datter")
    page.check("#consent_to_contact_suppliers")
    page.fill("#consent_date", "20-11-2026")
    page.fill("#decision_date", "20-11-2026")
    page.select_option("#decided_by_id", label="Camilla Sagsbehandler")
    page.click("main button.button-primary[type=submit]")
    assert "#behov" in page.url
    assert "Laver selv aftensmad" in page.content() and "Fastholder kontakten" in page.content()
    assert_accessible(page)

    page.click("text=Send videre til markedsafdækning")
    assert page.locator(".stage-box h2").inner_text().endswith("Markedsafdækning")
    number = page.locator("h1").inner_text().split()[0]
    assert_accessible(page)

    other = new_page(browser, live_server)
    sign_in(other, "procurement")
    assert number in other.locator("main").inner_text()  # on the start page's task list
    other.goto("/cases?scope=tasks")
    other.click(f"text={number}")
    assert "Bent Browsertest" in other.content()
    other.context.close()
