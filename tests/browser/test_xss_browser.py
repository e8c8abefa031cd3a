"""XSS payloads in every free-text field, shown on every page that shows them, in Chromium: nothing runs.

The world of tests/support/xss.py is seeded through the services (a payload in each text field a person can
fill), a few more are typed into the real forms, and then every page that shows them is opened by the role
that sees it. The browser context bypasses the app's Content Security Policy, so that escaping alone must
hold: the CSP is the second line, not the one these tests lean on. On each page:

* nothing ran: the marker `__xss(ID)` (a binding that reports to the test across navigations) was never
  called, no dialog (`alert(ID)`) opened, no page error, and no request went where a payload points;
* nothing was injected either, even what would need a click: no element has an `on…` attribute, a
  `javascript:` or `file:` URL, an inline or foreign script, a frame, object, base or MathML element;
* each field's text is on the page as text (in the document's text or a form field's value), exactly as
  typed, markup characters and all: it was escaped, not dropped or "cleaned".

A few pages are then opened again with the CSP enforced: a blocked inline script or handler would be a
console error, so none is even attempted. test_the_checks_catch_each_payload_written_unescaped_and_none_escaped
proves that the checks would catch each payload, by writing it into a page unescaped.
"""
from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, get_user
from tests.support.xss import BY_ID, MARKUP, PAYLOADS, World, flat, markers_in, seed_world
from workflow.models import (
    ApiToken,
    ApprovalEvent,
    CaseComment,
    Citizen,
    ContractVersion,
    NeedsAssessment,
    Offer,
    OfferImport,
    PurchaseCase,
    Reply,
    Unit,
)
from workflow.services import offer_import

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RECORDER = "window.__xss = function (id) { window.__xssReport(String(id)); };"

# What an injected element or attribute would look like in the DOM; returns one line per finding.
INJECTED = """() => {
  const found = [];
  const origin = location.origin;
  const urlAttributes = ["href", "src", "action", "formaction", "data", "xlink:href", "background", "poster"];
  for (const el of document.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) found.push(`${tag}[${name}]`);
      if (name === "srcdoc") found.push(`${tag}[srcdoc]`);
      if (name === "style" && /expression|url\\(/i.test(attr.value)) found.push(`${tag}[style=${attr.value}]`);
      if (urlAttributes.includes(name)) {
        let url = null;
        try { url = new URL(attr.value, location.href); } catch (e) { continue; }
        if (!["http:", "https:", "data:", "mailto:", "tel:"].includes(url.protocol)) {
          found.push(`${tag}[${name}=${attr.value}]`);
        } else if (["src", "data", "poster", "background"].includes(name) && url.protocol !== "data:"
                   && url.origin !== origin) {
          found.push(`${tag}[${name}=${attr.value}]`);
        }
      }
    }
    if (["iframe", "frame", "object", "embed", "base", "math", "applet"].includes(tag)) found.push(tag);
    if (tag === "script" && !(el.src && el.src.startsWith(origin + "/static/"))) found.push(`script ${el.src}`);
    if (tag === "link" && !(el.href.startsWith(origin + "/static/") || el.href.startsWith(origin + "/favicon")))
      found.push(`link ${el.href}`);
    if (tag === "meta" && el.httpEquiv) found.push(`meta[http-equiv=${el.httpEquiv}]`);
  }
  return found;
}"""

# The page's text, and what its form fields hold: where a stored value is shown.
SHOWN = """() => [document.body.textContent,
  ...Array.from(document.querySelectorAll("input, textarea"), (el) => el.value)].join(" \\n ")"""

# Requests a payload would cause: `src=x` (relative), the probe address, local files.
PROBED = re.compile(r"/x(?:[?#]|$)|xss-probe|127\.0\.0\.1:9/|^file:|^javascript:")


@dataclass
class Recorder:
    """What ran, opened, failed or was fetched, over every page of a browser context."""
    calls: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def ran(self) -> list[str]:
        return self.calls + self.dialogs + self.errors + self.requests


def hostile_page(browser, base_url: str, recorder: Recorder, *, bypass_csp: bool = True):
    """A page in a fresh context that ignores the CSP (unless told) and reports every sign of a payload."""
    context = browser.new_context(base_url=base_url, locale="da-DK", bypass_csp=bypass_csp)
    context.expose_binding("__xssReport",
                           lambda source, ident: recorder.calls.append(f"{source['frame'].url}: __xss({ident})"))
    context.add_init_script(RECORDER)
    context.on("request", lambda request: recorder.requests.append(request.url) if PROBED.search(request.url)
               else None)
    page = context.new_page()

    def dialog(opened):
        recorder.dialogs.append(f"{page.url}: {opened.type}({opened.message})")
        opened.dismiss()
    page.on("dialog", dialog)
    page.on("pageerror", lambda error: recorder.errors.append(f"{page.url}: {error}"))

    def console(message):
        # The page itself answered with an error status on purpose (a refused form, a missing page): fine.
        # Any other error is not: a resource that failed to load (an injected <img src=x>), a CSP violation.
        answered = message.text.startswith("Failed to load resource") and message.location.get("url") == page.url
        if message.type == "error" and not answered:
            recorder.errors.append(f"{page.url}: {message.text} ({message.location.get('url')})")
    page.on("console", console)
    return page


def signed_in(browser, base_url: str, recorder: Recorder, login: str, *, bypass_csp: bool = True):
    page = hostile_page(browser, base_url, recorder, bypass_csp=bypass_csp)
    page.goto("/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].button-primary")
    page.wait_for_load_state()
    assert not page.url.endswith("/login"), login
    return page


def settle(page) -> None:
    """Let what a payload would do after loading (onerror, ontoggle, autofocus) happen before looking."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(60)


def check_page(page, recorder: Recorder, expected: dict[str, str], where: str) -> list[str]:
    """Problems on the page as it is now: injected markup, and expected texts that are not shown as typed."""
    settle(page)
    problems = [f"{where}: injected {finding}" for finding in page.evaluate(INJECTED)]
    shown = flat(page.evaluate(SHOWN))
    problems += [f"{where}: {name} not shown as text: {value[:60]!r}" for name, value in expected.items()
                 if flat(value) not in shown]
    return problems


@dataclass(frozen=True)
class Visit:
    login: str                  # "" for the public pages (the supplier's, sign-in)
    path: str
    fields: tuple[str, ...]     # World.values keys whose text the page shows
    status: int = 200


ASSESSMENT = ("citizen_name", "expected_duration", "wishes", "special_conditions", "theme1", "theme2", "goal1",
              "measure1", "goal2", "measure2")
CASE_PAGE = (*ASSESSMENT, "comment", "shortlist_note1", "shortlist_note2")
REQUIREMENT = tuple(f"requirement.{name}" for name in (
    "age_band", "functional_summary", "goals", "services", "special_conditions"))
REPLY = ("line", "additional_services", "conditions", "contact_name", "contact_phone")
SHOWN_TERMS = tuple(f"terms.{name}" for name in (   # on the page once submitted; the rest are in the PDF
    "acting_municipality", "paying_municipality", "supplier_contact", "primary_service", "line1", "line2"))


def of(prefix: str, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}.{name}" for name in names)


def visits(w: World) -> list[Visit]:
    run, end, dlg, cxl, new, wait = w.running, w.ended, w.in_dialogue, w.cancelled, w.in_needs, w.awaiting
    person = ("user.caseworker", "user.procurement", "user.economy")
    offers = ("offer1.name", "offer2.name", "supplier1.name", "supplier2.name")
    offer1 = ("offer1.name", "offer1.key", "offer1.address", "offer1.framework_name", "offer1.quality_note")
    supplier2 = ("supplier2.name", "supplier2.address", "supplier2.contact_name", "supplier2.contact_phone",
                 "supplier2.notes")
    w.values["search.case"] = w["running.citizen_name"]
    w.values["search.offer"] = w["offer2.name"]
    return [
        Visit("caseworker", "/", ("user.caseworker",)),
        Visit("caseworker", "/cases?scope=unit&status=all", tuple(f"{p}.citizen_name" for p in (
            "running", "ended", "dialogue", "cancelled", "needs", "awaiting")) + ("user.caseworker",)),
        Visit("caseworker", "/cases?" + urlencode({"scope": "unit", "status": "all", "q": w["search.case"]}),
              ("search.case", "running.citizen_name")),
        Visit("caseworker", f"/cases/{new}", of("needs", ASSESSMENT)),
        Visit("caseworker", f"/cases/{new}/needs", of("needs", ASSESSMENT[1:])),
        Visit("caseworker", f"/cases/{new}/details", ()),
        Visit("caseworker", f"/cases/{new}/team", ("user.procurement", "user.economy")),
        Visit("caseworker", f"/cases/{new}/steps/cancel", ()),
        Visit("caseworker", f"/cases/{run}", (*of("running", CASE_PAGE), *offers, *person, "unit.name")),
        Visit("caseworker", f"/cases/{end}", ("ended.citizen_name", "ended.goal1")),
        Visit("caseworker", f"/cases/{dlg}", of("dialogue", CASE_PAGE)),
        Visit("caseworker", f"/cases/{cxl}", ("cancelled.citizen_name", "cancelled.reason")),
        Visit("caseworker", f"/cases/{run}/market-scan", (*offers, "running.shortlist_note1",
                                                          "running.shortlist_note2")),
        Visit("procurement", f"/cases/{run}/dialogue", (*of("running", REQUIREMENT), *offers)),
        Visit("procurement", f"/cases/{dlg}/dialogue", (*of("dialogue", REQUIREMENT), *offers)),
        Visit("procurement", f"/cases/{dlg}/dialogue/requirement", of("dialogue", REQUIREMENT)),
        Visit("procurement", f"/cases/{dlg}/dialogue/inquiries/{w.replied_inquiry}",
              (*of("dialogue.reply2", REPLY), "dialogue.negotiation_note")),
        Visit("procurement", f"/cases/{run}/dialogue/comparison", ("offer1.name", "offer2.name",
                                                                   "running.justification")),
        Visit("procurement", f"/cases/{dlg}/dialogue/comparison", ("offer1.name", "offer2.name")),
        Visit("manager", f"/cases/{wait}/contract", (*of("awaiting", SHOWN_TERMS), "awaiting.rejection_reason",
                                                     "tier.2", "user.manager", "user.economy", "supplier1.name")),
        Visit("manager", f"/cases/{wait}/contract/reject", ()),
        Visit("economy", f"/cases/{run}/contract", (*of("running", SHOWN_TERMS), "running.rejection_reason", "tier.2",
                                                    "user.manager", "supplier1.name")),
        Visit("caseworker", f"/cases/{run}/followup", ("running.participants", "running.citizen_view",
                                                       "running.followup_notes", "running.goal_note1",
                                                       "running.goal_note2", "running.deviations",
                                                       "running.incidents")),
        Visit("procurement", f"/cases/{run}/followup/{w.follow_up}/supplier", ("running.deviations",
                                                                              "running.incidents")),
        Visit("caseworker", f"/cases/{run}/followup/record", ()),
        Visit("caseworker", f"/cases/{end}/followup", ("ended.participants",)),
        Visit("caseworker", f"/cases/{end}/ending", ("ended.ending_reason",)),
        Visit("procurement", "/offers", offers),
        Visit("procurement", "/offers?" + urlencode({"q": w["search.offer"]}), ("search.offer", "offer2.name")),
        Visit("procurement", f"/offers/{w.offers[0]}", (*offer1, "supplier1.name")),
        Visit("procurement", f"/offers/{w.offers[0]}/edit", offer1),
        Visit("procurement", f"/offers/{w.imported_offer}", ("import1.offer_name", "import1.key", "import1.address",
                                                            "import1.framework_name", "import1.quality_note",
                                                            "import1.supplier_name")),
        Visit("procurement", f"/offers/suppliers/{w.suppliers[1]}", (*supplier2, "offer2.name")),
        Visit("procurement", f"/offers/suppliers/{w.suppliers[1]}/edit", supplier2),
        Visit("procurement", f"/offers/import/{w.import_preview}", ("import2.filename",)),
        Visit("procurement", "/offers/import", ("import1.filename", "import2.filename", "user.procurement")),
        Visit("manager", "/", ("awaiting.citizen_name",)),
        Visit("manager", "/reports", ("supplier1.name", "unit.name")),
        Visit("admin", "/admin/users", (*person, "user.manager", "unit.name")),
        Visit("admin", f"/admin/users/{_user_id('caseworker')}", ("user.caseworker",)),
        Visit("admin", "/admin/units", ("unit.name",)),
        Visit("admin", f"/admin/units/{_unit_id()}", ("unit.name",)),
        Visit("admin", "/admin/settings", ("tier.1", "tier.2", "tier.3")),
        Visit("admin", "/admin/audit", ()),
        Visit("caseworker", "/profile", ("user.caseworker", "token.name")),
        Visit("", f"/reply/{w.reply_token}", (*of("dialogue", REQUIREMENT), "offer1.name")),
        # Payloads in the address: a search, a bad filter, a redirect target, a missing page.
        Visit("manager", "/reports?" + urlencode({"from": BY_ID[6].text}), (), 422),
        Visit("", "/login?" + urlencode({"next": BY_ID[7].text}), ()),
        Visit("caseworker", "/cases/" + quote(BY_ID[2].text), (), 404),
    ]


def _user_id(login: str) -> int:
    return get_user(login).id


def _unit_id() -> int:
    return get_user("caseworker").unit_id


@pytest.fixture
def world(app, staff, mail_to_outbox) -> World:
    with app.test_request_context():
        built = seed_world(staff)
    return built


def test_no_payload_runs_on_any_page_and_each_is_shown_as_text(browser, live_server, app, db, world):
    planned = visits(world)
    db.session.remove()
    recorder = Recorder()
    pages: dict[str, object] = {}
    problems: list[str] = []
    for visit in planned:
        if visit.login not in pages:
            pages[visit.login] = (signed_in(browser, live_server, recorder, visit.login) if visit.login
                                  else hostile_page(browser, live_server, recorder))
        page = pages[visit.login]
        response = page.goto(visit.path)
        where = f"{visit.login or 'supplier'} {visit.path}"
        if response is None or response.status != visit.status:
            problems.append(f"{where}: status {response.status if response else None}")
            continue
        problems += check_page(page, recorder, {name: world[name] for name in visit.fields}, where)
    for page in pages.values():
        page.context.close()
    assert not problems, "\n".join(problems)
    assert not recorder.ran(), "\n".join(recorder.ran())

    # The pages with the most payloads, the CSP enforced: a blocked inline script or handler would be a console
    # error, so none was even attempted.
    page = signed_in(browser, live_server, recorder, "procurement", bypass_csp=False)
    for path in (f"/cases/{world.running}", f"/cases/{world.awaiting}/contract", f"/offers/{world.offers[0]}",
                 f"/cases/{world.in_dialogue}/dialogue/inquiries/{world.replied_inquiry}"):
        response = page.goto(path)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        problems += check_page(page, recorder, {}, f"with the CSP {path}")
    page.context.close()
    assert not problems, "\n".join(problems)
    assert not recorder.ran(), "\n".join(recorder.ran())


# --- Through the real forms ---------------------------------------------------------------------------------------

def submit(page, form: str = "main form") -> None:
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state()


def test_payloads_typed_into_the_forms_are_stored_as_typed_and_shown_as_text(browser, live_server, db, world):
    recorder = Recorder()
    problems: list[str] = []
    # Tagged, so that no seeded field (the same payloads, other tags) can stand in for what was typed.
    typed = {name: f"{BY_ID[number].text} ~{name}" for name, number in (
        ("citizen_name", 14), ("wishes", 11), ("narrative", 8), ("goal", 12), ("comment", 9), ("token", 6),
        ("unit", 7), ("line", 2), ("additional_services", 20), ("conditions", 26), ("contact_name", 1),
        ("contact_phone", 3), ("rejection", 15), ("further_services", 21), ("offer_name", 22))}
    db.session.remove()

    # A new case: refused first (a wrong CPR number), with the name given back in its field; then opened.
    page = signed_in(browser, live_server, recorder, "caseworker")
    page.goto("/cases/new")
    page.fill("#cpr", "321385-4321")
    page.fill("#citizen_name", typed["citizen_name"])
    page.select_option("#home_municipality", label="Aarhus")
    page.select_option("#legal_basis", value="SEL-108")
    page.select_option("#target_group", value="acquired_brain_injury")
    submit(page)
    assert page.url.endswith("/cases/new")
    problems += check_page(page, recorder, {"citizen name, refused": typed["citizen_name"]}, "new case refused")
    page.fill("#cpr", "241085-4321")
    submit(page)
    assert page.url.endswith("/needs"), page.url
    page.fill("#wishes", typed["wishes"])
    page.fill("#themes-0-narrative", typed["narrative"])
    page.fill("#goals-0-text", typed["goal"])
    page.click("main button.button-primary[type=submit]")
    page.wait_for_load_state()
    assert "#behov" in page.url, page.url
    case_path = page.url.split("#")[0]
    page.fill("#body", typed["comment"])
    submit(page, 'form[action$="/comments"]')
    assert page.url.startswith(case_path)
    problems += check_page(page, recorder, {name: typed[name] for name in (
        "citizen_name", "wishes", "narrative", "goal", "comment")}, "the new case")
    page.goto("/profile")
    page.fill("#create-token #name", typed["token"])
    submit(page, "#create-token")
    problems += check_page(page, recorder, {"token": typed["token"]}, "profile")
    page.context.close()

    admin = signed_in(browser, live_server, recorder, "admin")
    admin.goto("/admin/units/new")
    admin.fill("#name", typed["unit"])
    submit(admin)
    problems += check_page(admin, recorder, {"unit": typed["unit"]}, "units")
    admin.context.close()

    # The manager rejects the terms awaiting approval; procurement finds them editable again and changes them.
    manager = signed_in(browser, live_server, recorder, "manager")
    manager.goto(f"/cases/{world.awaiting}/contract/reject")
    manager.fill("#reason", typed["rejection"])
    submit(manager)
    problems += check_page(manager, recorder, {"rejection": typed["rejection"]}, "rejected")
    manager.context.close()
    buyer = signed_in(browser, live_server, recorder, "procurement")
    buyer.goto(f"/cases/{world.awaiting}/contract")
    terms = {name: world[f"awaiting.terms.{name}"] for name in (
        "acting_municipality", "acting_contact", "paying_municipality", "supplier_contact", "primary_service",
        "further_services", "goals", "price_regulation", "absence_rules", "documentation_duties", "data_processing",
        "framework_reference", "line1", "line2")}
    problems += check_page(buyer, recorder, {**terms, "rejection": typed["rejection"]}, "terms form")
    buyer.fill("#further_services", typed["further_services"])
    submit(buyer, "form:has(#further_services)")
    problems += check_page(buyer, recorder, {"further_services": typed["further_services"]}, "terms saved")

    # A registry file through the upload form: a hostile file name and offer name, previewed and imported.
    buyer.goto("/offers/import")
    buyer.set_input_files("#file", files=[{"name": f"{BY_ID[4].text}.csv", "mimeType": "text/csv",
                                          "buffer": _registry_file(typed["offer_name"])}])
    submit(buyer)
    problems += check_page(buyer, recorder, {"file": f"{BY_ID[4].text}.csv"}, "import preview")
    submit(buyer)
    buyer.goto("/offers?" + urlencode({"q": typed["offer_name"]}))
    problems += check_page(buyer, recorder, {"offer_name": typed["offer_name"]}, "imported offer")
    buyer.context.close()

    # The supplier's reply through the secret link, then procurement reads it.
    supplier = hostile_page(browser, live_server, recorder)
    supplier.goto(f"/reply/{world.reply_token}")
    supplier.check("#can_deliver-0")
    supplier.fill("#earliest_start", "01-04-2027")
    supplier.fill("#lines-0-description", typed["line"])
    supplier.select_option("#lines-0-unit", value="døgn")
    supplier.fill("#lines-0-unit_price", "2.450,00")
    supplier.fill("#lines-0-quantity", "1")
    for name in ("additional_services", "conditions", "contact_name", "contact_phone"):
        supplier.fill(f"#{name}", typed[name])
    supplier.fill("#contact_email", "svar@leverandoer.example")
    submit(supplier)
    reply_fields = ("line", "additional_services", "conditions", "contact_name", "contact_phone")
    problems += check_page(supplier, recorder, {name: typed[name] for name in reply_fields}, "reply page")
    supplier.context.close()
    buyer = signed_in(browser, live_server, recorder, "procurement")
    buyer.goto(f"/cases/{world.in_dialogue}/dialogue/inquiries/{world.reply_inquiry}")
    problems += check_page(buyer, recorder, {name: typed[name] for name in reply_fields}, "inquiry page")
    buyer.context.close()

    assert not problems, "\n".join(problems)
    assert not recorder.ran(), "\n".join(recorder.ran())
    # Stored exactly as typed: nothing stripped, "cleaned" or encoded on the way in.
    case_id = db.session.scalar(select(PurchaseCase.id).join(Citizen).where(Citizen.name == typed["citizen_name"]))
    assessment = db.session.scalar(select(NeedsAssessment).where(NeedsAssessment.case_id == case_id))
    assert assessment.wishes == typed["wishes"]
    assert [theme.narrative for theme in assessment.themes if theme.narrative] == [typed["narrative"]]
    assert [goal.text for goal in assessment.goals] == [typed["goal"]]
    assert db.session.scalar(select(CaseComment.body).where(CaseComment.case_id == case_id)) == (
        typed["comment"])
    assert db.session.scalar(select(ApiToken.name).where(ApiToken.name == typed["token"])) is not None
    assert db.session.scalar(select(Unit.id).where(Unit.name == typed["unit"])) is not None
    reply = db.session.scalar(select(Reply).where(Reply.inquiry_id == world.reply_inquiry))
    assert (reply.additional_services, reply.conditions, reply.contact_name, reply.contact_phone) == (
        typed["additional_services"], typed["conditions"], typed["contact_name"], typed["contact_phone"])
    assert [line.description for line in reply.lines] == [typed["line"]]
    contract = db.session.scalar(select(ContractVersion).where(ContractVersion.case_id == world.awaiting))
    assert contract.further_services == typed["further_services"]
    assert db.session.scalar(select(ApprovalEvent.reason).where(ApprovalEvent.contract_id == contract.id,
                                                                ApprovalEvent.reason == typed["rejection"]))
    assert db.session.scalar(select(OfferImport.filename).where(OfferImport.status == "applied")
                             .order_by(OfferImport.id.desc()).limit(1)) == f"{BY_ID[4].text}.csv"
    assert db.session.scalar(select(Offer.id).where(Offer.name == typed["offer_name"])) is not None


def _registry_file(offer_name: str) -> bytes:
    """One offer, with this name, as the registry's CSV (UTF-8)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows([offer_import.COLUMNS, [
        "XSS-1", "39000009", "Formularleverandøren ApS", "", "privat", offer_name, "", "101", "SEL-108",
        "intellectual_disability", "residence", "4", "1", "2.100,00", "døgn", "01-01-2026", "godkendt", "15-03-2019",
        "nej", "", "01-11-2026", ""]])
    return buffer.getvalue().encode("utf-8")


# --- The checks themselves --------------------------------------------------------------------------------------

# Where a payload could land if it were written unescaped: text, both kinds of attribute, a textarea, a comment.
CONTEXTS = ("<!doctype html><html><head><title>{p}</title></head><body><p>{p}</p><input value=\"{p}\">"
            "<input value='{p}'><textarea>{p}</textarea><!-- {p} --></body></html>")


def test_the_checks_catch_each_payload_written_unescaped_and_none_escaped(browser, live_server):
    recorder = Recorder()
    page = hostile_page(browser, live_server, recorder)
    bodies: dict[str, str] = {}

    def serve(route):
        body = bodies.get(route.request.url.rsplit("/", 1)[1])
        route.fulfill(status=200 if body else 404, content_type="text/html; charset=utf-8", body=body or "")
    page.route("**/xss-canary/*", serve)
    missed: list[str] = []
    for payload in PAYLOADS:
        bodies[str(payload.id)] = CONTEXTS.format(p=payload.text)
        page.goto(f"/xss-canary/{payload.id}")
        settle(page)
        if payload.kind == MARKUP and not page.evaluate(INJECTED):
            missed.append(f"{payload.id}: its markup was not found")
    page.wait_for_timeout(200)
    page.context.close()
    # Each canary page holds one payload, so a marker's id says whose run it was, whenever it is reported.
    ran = markers_in(" ".join(recorder.calls + recorder.dialogs))
    missed += [f"{payload.id}: its run was not recorded" for payload in PAYLOADS
               if payload.runs and payload.id not in ran]
    missed += [f"{payload.id}: said not to run by itself, but it did" for payload in PAYLOADS
               if not payload.runs and payload.id in ran]
    assert not missed, "\n".join(missed)
    assert any("xss-probe-23" in url for url in recorder.requests)

    # The same contexts with every payload escaped: nothing found, nothing ran, every payload shown as typed.
    recorder = Recorder()
    page = hostile_page(browser, live_server, recorder)
    page.route("**/xss-canary/escaped", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8",
        body="".join(CONTEXTS.format(p=html.escape(payload.text)) for payload in PAYLOADS)))
    page.goto("/xss-canary/escaped")
    assert check_page(page, recorder, {str(p.id): p.text for p in PAYLOADS}, "escaped") == []
    assert not recorder.ran()
    page.context.close()
