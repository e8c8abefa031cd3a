"""Every demo user signs in in Chromium; the pages they see pass axe-core's WCAG 2.1 AA rules."""
from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, sign_in
from workflow.cli import DEMO_USERS

pytestmark = pytest.mark.browser


def test_sign_in_page_is_accessible(page, demo):
    page.goto("/login")
    assert page.locator("h1").inner_text() == "Log ind på Socialkøb"
    assert_accessible(page)


def test_sign_in_errors_are_accessible(page, demo):
    page.goto("/login")
    page.click("button[type=submit].button-primary")
    assert page.locator("#error-summary").is_visible()
    assert_accessible(page)
    page.fill("#login", "caseworker")
    page.fill("#password", "wrong-password-1")
    page.click("button[type=submit].button-primary")
    assert "Forkert brugernavn eller adgangskode" in page.content()
    assert_accessible(page)


@pytest.mark.parametrize("login", [login for login, *_ in DEMO_USERS])
def test_each_demo_user_signs_in_to_an_accessible_start_page(page, demo, login):
    sign_in(page, login)
    assert page.url.endswith("/")
    assert "Velkommen" in page.locator("h1").inner_text()
    assert_accessible(page)
    page.click("button.log-off")
    assert "/login" in page.url


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/new", "/admin/users/1", "/admin/units",
                                  "/admin/units/new", "/admin/units/1", "/admin/settings", "/admin/audit",
                                  "/profile"])
def test_admin_pages_are_accessible(page, demo, path):
    sign_in(page, "admin")
    page.goto(path)
    assert page.locator("h1").count() == 1
    assert_accessible(page)


def test_form_errors_on_admin_pages_are_accessible(page, demo):
    sign_in(page, "admin")
    page.goto("/admin/users/new")
    page.fill("#email", "not-an-email")
    page.click("main button[type=submit].button-primary")
    assert page.locator("#error-summary").is_visible()
    assert_accessible(page)


def test_language_switch_to_english_and_back(page, demo):
    sign_in(page, "caseworker")
    page.click("button[name=language][value=en]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Welcome" in page.locator("h1").inner_text()
    assert_accessible(page)
    page.click("button[name=language][value=da]")
    assert page.locator("html").get_attribute("lang") == "da"
