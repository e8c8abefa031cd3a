"""A live server on loopback, headless Chromium through Playwright, and axe-core."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD
from workflow.cli import DEMO_PASSWORD, seed_demo_data

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if executable is None or not AXE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium or axe-core is missing; CI needs both (make test installs them)")
        pytest.skip("Chromium or axe-core is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port for the length of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def demo(app_ctx):
    """The demo units and users, as `make run` seeds them."""
    from workflow.extensions import db

    seed_demo_data(offers=120, cases=18)  # two cases a stage: the demo, smaller
    db.session.commit()
    db.session.remove()


def new_page(browser, base_url: str):
    """A page in a fresh browser context (its own cookies), collecting console errors."""
    context = browser.new_context(base_url=base_url, locale="da-DK")
    page = context.new_page()
    problems: list[str] = []

    def console(message):
        # A form answered 422 (bad input, shown on the page) is expected; any other error is a problem.
        if message.type == "error" and "status of 422" not in message.text:
            problems.append(message.text)
    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.csp_problems = problems
    return page


@pytest.fixture
def page(browser, live_server):
    page = new_page(browser, live_server)
    yield page
    page.context.close()


@pytest.fixture
def mail_to_outbox(app, monkeypatch, tmp_path):
    """Mail from the live server is written to this test's own outbox folder."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))


def open_as(browser, live_server, login: str, path: str, password: str = PASSWORD):
    """A new signed-in page (its own browser context) at path."""
    page = new_page(browser, live_server)
    sign_in(page, login, password)
    page.goto(path)
    return page


def fresh(db, model, ident):
    """The row as the database has it now (the live server committed in its own session)."""
    db.session.expire_all()
    return db.session.get(model, ident)


def sign_in(page, login: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit].button-primary")
    page.wait_for_load_state()


def axe_violations(page) -> list[dict]:
    """Run axe-core with the WCAG 2.1 A and AA rules; return the violations."""
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
               values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [node["target"] for node in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert not violations, f"{page.url}: {violations}"
    assert not page.csp_problems, f"{page.url}: console errors {page.csp_problems}"
