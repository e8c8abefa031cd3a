"""The API as a person meets it in Chromium: a token created and revoked on the profile page, the docs page.
axe-core checks both pages; the token is then used from outside the browser."""
from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD
from tests.support.api import ApiClient

pytestmark = pytest.mark.browser


def test_a_token_is_created_used_and_revoked_and_the_docs_read(page, app, db, staff):
    sign_in(page, "caseworker", PASSWORD)
    page.goto("/profile")
    assert_accessible(page)
    page.locator("#create-token button[type=submit]").click()   # no name: refused
    assert page.locator("#error-summary").count() == 1
    assert_accessible(page)
    page.fill("#name", "ESDH-integration")
    page.locator("#create-token button[type=submit]").click()
    secret = page.input_value("#new-token")
    assert secret.startswith("sk_")
    assert_accessible(page)
    assert ApiClient(app, token=secret).get("/cases").status_code == 200

    page.goto("/profile")
    assert page.locator("#new-token").count() == 0                                # shown once only
    page.locator("form[action*='/revoke'] button").click()
    assert page.locator(".alert-success").count() == 1
    assert ApiClient(app, token=secret).get("/cases").status_code == 401

    page.click("a[href='/api/v1/docs']")
    assert page.locator("h1").inner_text() == "API-dokumentation"
    assert page.locator("h3:has-text('GET /api/v1/cases')").count() >= 1
    assert_accessible(page)
