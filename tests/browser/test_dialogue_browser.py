"""Stage 3 in Chromium: procurement saves the requirement and asks three suppliers, two reply through their links
(one revises), procurement compares and chooses the dearer reply with a justification; axe-core on the way."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.browser.conftest import assert_accessible, new_page, sign_in
from tests.conftest import PASSWORD
from tests.support.dialogue import LINK, build_dialogue_case, reply, save_requirement, send
from workflow.models import Choice, Inquiry, PurchaseCase, Reply
from workflow.process import Stage
from workflow.services import mail

pytestmark = pytest.mark.browser


@pytest.fixture
def outbox(app, monkeypatch, tmp_path):
    folder = tmp_path / "outbox"
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(folder))
    return folder


def reply_paths() -> dict[str, str]:
    """The supplier's address → the path of the link in its inquiry mail (whatever host the mail names)."""
    return {message["To"]: f"/reply/{LINK.search(message.get_content()).group(1)}"
            for message in mail.outbox_messages() if LINK.search(message.get_content())}


def answer(page, price: str, *, contact: str) -> None:
    page.check("#can_deliver-0")
    page.fill("#earliest_start", "01-03-2027")
    page.fill("#lines-0-description", "Døgntakst inkl. pædagogisk støtte")
    page.select_option("#lines-0-unit", value="døgn")
    page.fill("#lines-0-unit_price", price)
    page.fill("#lines-0-quantity", "1")
    page.fill("#contact_name", contact)
    page.fill("#contact_email", "kontakt@leverandoer.example")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def choose_by_keyboard(page, inquiry_id: int) -> None:
    """Select a reply with the keyboard, as a keyboard user would (the mouse is tested below)."""
    page.focus(f"#choose-{inquiry_id}")
    page.keyboard.press("Space")
    assert page.is_checked(f"#choose-{inquiry_id}")


def test_procurement_asks_three_suppliers_and_chooses_with_a_justification(page, browser, live_server, db, staff,
                                                                            outbox):
    built = build_dialogue_case(staff)
    case_id = built.case.id
    offer_ids = {name: offer.id for name, offer in built.offers.items()}
    emails = {name: offer.supplier.contact_email for name, offer in built.offers.items()}
    db.session.remove()

    # Procurement reviews and saves the anonymised requirement, then sends to all three shortlisted offers.
    sign_in(page, "procurement", PASSWORD)
    page.goto(f"/cases/{case_id}/dialogue")
    assert_accessible(page)
    page.click(f'main a[href="/cases/{case_id}/dialogue/requirement"]')
    assert page.url.endswith("/dialogue/requirement")
    assert "Karoline" not in page.locator("main form").inner_text()
    page.click("main button.button-primary[type=submit]")
    assert page.url.endswith(f"/cases/{case_id}/dialogue")
    assert page.locator(".alert-success").count() == 1
    for offer_id in offer_ids.values():
        assert page.is_checked(f"#offer-{offer_id}")
    assert re.fullmatch(r"\d{2}-\d{2}-\d{4}", page.input_value("#deadline"))
    page.click(f'form[action="/cases/{case_id}/dialogue/send"] button[type=submit]')
    assert page.url.endswith(f"/cases/{case_id}/dialogue")
    assert page.locator(".alert-success").count() == 1
    assert page.locator("main table tbody tr").count() == 3
    assert_accessible(page)

    paths = reply_paths()
    assert len(paths) == 3
    by_offer = {name: paths[email] for name, email in emails.items()}

    # Solhøj replies, then revises its price; Egely replies cheaper; Bakkely does not reply.
    solhoej = new_page(browser, live_server)
    solhoej.goto(by_offer["Solhøj"])
    assert "Solhøj" in solhoej.locator("h1").inner_text()
    assert "Egely" not in solhoej.content() and "Karoline" not in solhoej.content()
    assert_accessible(solhoej)
    answer(solhoej, "2.450,50", contact="Lise Solhøj")
    assert solhoej.locator(".alert-success").count() == 1
    assert "2.450,50" in solhoej.locator("main").inner_text()
    assert_accessible(solhoej)
    answer(solhoej, "2.399,00", contact="Lise Solhøj")
    assert solhoej.locator(".alert-success").count() == 1
    assert "(version 2)" in solhoej.locator("#seneste").inner_text()
    solhoej.context.close()

    egely = new_page(browser, live_server)
    egely.goto(by_offer["Egely"])
    answer(egely, "2.300,00", contact="Ebbe Egely")
    assert egely.locator(".alert-success").count() == 1
    egely.context.close()

    # Procurement compares: Egely is the cheapest and best scored; Solhøj is chosen, which needs a justification.
    page.goto(f"/cases/{case_id}/dialogue/comparison")
    assert_accessible(page)
    inquiry_ids = {inquiry.offer.name: inquiry.id for inquiry in db.session.scalars(
        select(Inquiry).where(Inquiry.case_id == case_id))}
    egely_row = page.locator("tr", has=page.locator(f'a[href$="/inquiries/{inquiry_ids["Egely"]}"]'))
    assert "839.500,00" in egely_row.inner_text() and egely_row.locator(".badge-success").count() == 2
    assert "875.635,00" in page.locator("tr", has=page.locator(
        f'a[href$="/inquiries/{inquiry_ids["Solhøj"]}"]')).inner_text()   # 2.399,00 × 365
    assert page.locator(f"#choose-{inquiry_ids['Bakkely']}").count() == 0  # no reply, nothing to choose
    choose_by_keyboard(page, inquiry_ids["Solhøj"])
    page.click("main button.button-primary[type=submit]")
    assert page.url.endswith("/dialogue/comparison")
    assert page.locator("#justification-error").count() == 1
    assert db.session.scalar(select(Choice)) is None
    assert_accessible(page)

    choose_by_keyboard(page, inquiry_ids["Solhøj"])
    page.fill("#justification", "Borgeren har besøgt Solhøj og ønsker at bo tæt på sin søster.")
    page.click("main button.button-primary[type=submit]")
    assert page.url.endswith(f"/cases/{case_id}")
    assert page.locator(".alert-success").count() == 1

    db.session.expire_all()
    chosen = db.session.scalar(select(Choice))
    assert chosen.inquiry_id == inquiry_ids["Solhøj"]
    assert chosen.justification.startswith("Borgeren har besøgt Solhøj")
    assert db.session.get(Reply, chosen.reply_id).number == 2
    assert db.session.get(PurchaseCase, case_id).stage == Stage.TERMS
    declined = sorted(message["To"] for message in mail.outbox_messages()
                      if not LINK.search(message.get_content()))
    assert declined == ["kontakt@egely.example", "svar@bakkely.example"]

    page.goto(f"/cases/{case_id}/dialogue")
    assert page.locator(".alert-success").count() == 1  # "Solhøj was chosen on …"
    assert_accessible(page)
    page.goto(f"/cases/{case_id}/dialogue/comparison")
    assert "Borgeren har besøgt Solhøj" in page.locator("main").inner_text()
    assert_accessible(page)


def test_each_choose_radio_sits_in_its_own_row(page, app, db, staff, outbox):
    built = build_dialogue_case(staff)
    save_requirement(built.case, staff.procurement)
    sent = send(app, built.case, staff.procurement)
    for inquiry, price in zip(sent, ("2450.50", "2300.00", "2600.00"), strict=True):
        reply(inquiry, price)
    case_id, inquiry_ids = built.case.id, [inquiry.id for inquiry in sent]
    db.session.remove()

    sign_in(page, "procurement", PASSWORD)
    page.goto(f"/cases/{case_id}/dialogue/comparison")
    for inquiry_id in inquiry_ids:
        row = page.locator("tr", has=page.locator(f'a[href$="/inquiries/{inquiry_id}"]')).bounding_box()
        radio = page.locator(f"#choose-{inquiry_id}").bounding_box()
        assert row["y"] <= radio["y"] and radio["y"] + radio["height"] <= row["y"] + row["height"], (
            f"the radio for inquiry {inquiry_id} is not in its row: {radio} outside {row}")
