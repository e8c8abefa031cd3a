"""The supplier dialogue through the API: requirement, inquiries, staff-entered replies, comparison and choice."""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from tests.factories import make_case, to_market_scan
from workflow import clock, cpr
from workflow.models import Choice, Inquiry, NegotiationNote, PurchaseCase, Reply, Requirement
from workflow.process import Event, Stage
from workflow.services import dialogue, mail, registry, shortlist, transitions
from workflow.services.registry import OfferInput, SupplierInput

TODAY = clock.today()
CITIZEN = "Karoline Testesen"
CPR = "0101901234"
# (offer name, supplier name, e-mail)
OFFERS = (("Solhøj", "Solhøj ApS", "tilbud@solhoej.example"),
          ("Egely", "Egely Fonden", "kontakt@egely.example"),
          ("Bakkely", "Bakkely A/S", "svar@bakkely.example"))
PRICES = {"Solhøj": "2450.50", "Egely": "2300.00", "Bakkely": "2600.00"}  # a day; Egely is the cheapest
NAMING = "Kravspecifikationen må ikke indeholde borgerens navn eller CPR-nummer."
_cvrs = itertools.count(32000001)


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch, tmp_path):
    """Every test writes its mails into its own outbox."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))


def new_offer(name: str, supplier_name: str, email: str):
    supplier = registry.create_supplier(SupplierInput(
        cvr=str(next(_cvrs)), name=supplier_name, supplier_type="privat", contact_email=email))
    return registry.create_offer(supplier, OfferInput(
        key=f"K-{name}", name=name, municipality="101", list_price=Decimal("2500.00"), price_unit="døgn",
        price_effective_from=date(2026, 1, 1), approval_status="approved", data_updated_on=TODAY - timedelta(30),
        legal_bases=["SEL-108"], target_groups=["intellectual_disability"], service_types=["residence"],
        places=10, vacancies=2, approved_on=date(2019, 3, 15)), TODAY)


@pytest.fixture
def built(db, staff):
    """A caseworker's case with procurement and economy on it, assessed with consent, three offers shortlisted,
    in the supplier dialogue."""
    case = make_case(staff.caseworker, procurement=staff.procurement, economy=staff.economy, name=CITIZEN, cpr=CPR)
    to_market_scan(case, staff.caseworker)
    offers = {}
    for name, supplier_name, email in OFFERS:
        offers[name] = new_offer(name, supplier_name, email)
        shortlist.add(case, offers[name], staff.caseworker, "Relevant tilbud")
    transitions.take_step(case, Event.START_DIALOGUE, staff.caseworker)
    db.session.commit()
    return SimpleNamespace(case=case, offers=offers, path=f"/cases/{case.id}")


def requirement_body(api_client, path: str, **changes) -> dict:
    """The requirement as read (the draft before the first save), ready to be sent back."""
    read = api_client.get(f"{path}/requirement").json
    body = {key: read[key] for key in ("age_band", "functional_summary", "support_need", "goals", "services",
                                       "hours_per_week", "desired_start", "special_conditions")}
    body.update(changes)
    return body


def reply_body(price: str, **changes) -> dict:
    body = {"channel": "phone", "can_deliver": True, "earliest_start": "2027-03-01",
            "lines": [{"description": "Døgntakst", "unit": "døgn", "unit_price": price, "quantity": "1"}],
            "additional_services": "Ledsagelse til lægen", "conditions": "Opsigelse med 3 måneders varsel",
            "contact_name": "Lise Leverandør", "contact_email": "lise@leverandoer.example"}
    body.update(changes)
    return body


@pytest.fixture
def asked(api, built):
    """The requirement saved and inquiries sent to all three offers (through the API)."""
    buyer = api("procurement")
    assert buyer.put(f"{built.path}/requirement", json=requirement_body(buyer, built.path)).status_code == 200
    sent = buyer.post(f"{built.path}/inquiries", json={
        "offer_ids": [offer.id for offer in built.offers.values()],
        "deadline": dialogue.default_deadline(TODAY).isoformat()})
    assert sent.status_code == 201, sent.json
    built.ids = {item["offer"]["name"]: item["id"] for item in sent.json}
    return built


@pytest.fixture
def replied(api, asked):
    """Every supplier's reply entered by procurement."""
    buyer = api("procurement")
    for name, price in PRICES.items():
        entered = buyer.post(f"{asked.path}/inquiries/{asked.ids[name]}/replies", json=reply_body(price))
        assert entered.status_code == 201, entered.json
    return asked


def count(db, model, *conditions) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def case_etag(api_client, path: str) -> str:
    return api_client.get(path).headers["ETag"]


def assert_no_cpr(*responses) -> None:
    for response in responses:
        text = response.get_data(as_text=True)
        assert CPR not in text and cpr.formatted(CPR) not in text, response.request.path


# --- The whole stage ---

def test_the_whole_dialogue_through_the_api(db, api, staff, built):
    path = built.path
    caseworker, buyer = api("caseworker"), api("procurement")
    seen = []

    # The requirement: before it is saved, the draft from the needs assessment, without an ETag.
    draft = caseworker.get(f"{path}/requirement")
    seen.append(draft)
    assert draft.status_code == 200 and "ETag" not in draft.headers
    expected = dialogue.draft_requirement(built.case, TODAY)
    assert draft.json["saved"] is False and draft.json["id"] is None and draft.json["version"] is None
    assert draft.json["age_band"] == expected.age_band == "35–49"
    assert "Handler selv ind en gang om ugen" in draft.json["goals"] and draft.json["support_need"] == "high"
    assert "karoline" not in draft.get_data(as_text=True).lower()
    assert count(db, Requirement) == 0

    # The first save takes no If-Match; then every save needs the current ETag.
    body = requirement_body(buyer, path, services="Botilbud med døgndækning")
    first = buyer.put(f"{path}/requirement", json=body)
    seen.append(first)
    assert first.status_code == 200, first.json
    assert first.json["saved"] is True and first.json["services"] == "Botilbud med døgndækning"
    assert first.headers["ETag"] == f'"requirement-{first.json["id"]}-1"'
    assert buyer.put(f"{path}/requirement", json=body).status_code == 428
    changed = caseworker.put(f"{path}/requirement", json={**body, "hours_per_week": 20},
                             headers={"If-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.json["hours_per_week"] == 20 and changed.json["version"] == 2
    stale = buyer.put(f"{path}/requirement", json=body, headers={"If-Match": first.headers["ETag"]})
    assert stale.status_code == 412
    read = buyer.get(f"{path}/requirement")
    assert read.headers["ETag"] == changed.headers["ETag"] and read.json["hours_per_week"] == 20

    # Inquiries: one per shortlisted offer, each supplier mailed its link.
    sent = buyer.post(f"{path}/inquiries", json={"offer_ids": [offer.id for offer in built.offers.values()],
                                                  "deadline": dialogue.default_deadline(TODAY).isoformat()})
    seen.append(sent)
    assert sent.status_code == 201, sent.json
    assert sorted(item["offer"]["name"] for item in sent.json) == sorted(PRICES)
    assert all(item["status"] == "open" and item["sealed"] is False and item["replies"] == [] for item in sent.json)
    assert all(item["sent_by"]["id"] == staff.procurement.id for item in sent.json)
    assert sorted(message["To"] for message in mail.outbox_messages()) == sorted(email for *_x, email in OFFERS)
    ids = {item["offer"]["name"]: item["id"] for item in sent.json}
    listed = caseworker.get(f"{path}/inquiries")
    seen.append(listed)
    assert [item["id"] for item in listed.json] == sorted(ids.values())

    # Replies received by phone, entered by procurement.
    for name, price in PRICES.items():
        entered = buyer.post(f"{path}/inquiries/{ids[name]}/replies", json=reply_body(price))
        assert entered.status_code == 201, entered.json
    egely = caseworker.get(f"{path}/inquiries/{ids['Egely']}")
    seen.append(egely)
    (recorded,) = egely.json["replies"]
    assert recorded["entered_by"]["id"] == staff.procurement.id and recorded["channel"] == "phone"
    assert recorded["lines"] == [{"description": "Døgntakst", "unit": "døgn", "unit_price": "2300.00",
                                  "quantity": "1.00", "per_year": "839500.00"}]
    assert recorded["annual_cost"] == "839500.00" and recorded["number"] == 1
    stored = db.session.scalar(select(Reply).where(Reply.inquiry_id == ids["Egely"]))
    assert stored.entered_by_id == staff.procurement.id and stored.lines[0].unit_price == Decimal("2300.00")

    note = caseworker.post(f"{path}/inquiries/{ids['Egely']}/notes", json={"text": "Borgeren har besøgt stedet"})
    assert note.status_code == 201 and note.json["author"]["id"] == staff.caseworker.id
    assert caseworker.get(f"{path}/inquiries/{ids['Egely']}").json["notes"][0]["text"] == "Borgeren har besøgt stedet"

    # The comparison: Egely is both the cheapest and the best scored, so choosing it needs no justification.
    compared = caseworker.get(f"{path}/comparison")
    seen.append(compared)
    assert compared.status_code == 200
    rows = {row["offer"]["name"]: row for row in compared.json["rows"]}
    assert {name: row["annual_cost"] for name, row in rows.items()} == {
        "Solhøj": "894432.50", "Egely": "839500.00", "Bakkely": "949000.00"}
    assert rows["Egely"]["cheapest"] and rows["Egely"]["best"] and not rows["Egely"]["needs_justification"]
    assert rows["Solhøj"]["needs_justification"] and not rows["Solhøj"]["cheapest"]
    assert all(row["passes"] and row["gates"] == {"approved": True, "vacancy": True, "legal_basis": True}
               for row in rows.values())
    assert rows["Egely"]["score"] == 85 and rows["Egely"]["vs_budget"] == "-60500.00"
    assert compared.json["choice"] is None and compared.json["budget_frame"] == "900000.00"

    # The choice, with the case's ETag.
    chosen = buyer.post(f"{path}/choice", json={"inquiry_id": ids["Egely"]},
                        headers={"If-Match": case_etag(buyer, path)})
    seen.append(chosen)
    assert chosen.status_code == 200, chosen.json
    assert chosen.json["inquiry_id"] == ids["Egely"] and chosen.json["justification"] is None
    assert chosen.json["offer"]["name"] == "Egely" and chosen.json["chosen_by"]["id"] == staff.procurement.id
    db.session.expire_all()
    assert db.session.get(PurchaseCase, built.case.id).stage == Stage.TERMS
    declined = [message["To"] for message in mail.outbox_messages()[3:]]
    assert sorted(declined) == ["svar@bakkely.example", "tilbud@solhoej.example"]
    after = caseworker.get(f"{path}/comparison").json
    assert [row["offer"]["name"] for row in after["rows"] if row["chosen"]] == ["Egely"]
    assert after["choice"]["id"] == chosen.json["id"]
    statuses = {item["offer"]["name"]: item["status"] for item in caseworker.get(f"{path}/inquiries").json}
    assert statuses == {"Solhøj": "declined", "Egely": "closed", "Bakkely": "declined"}
    assert_no_cpr(*seen)


def test_choosing_another_reply_needs_a_justification(db, api, replied):
    buyer = api("procurement")
    refused = buyer.post(f"{replied.path}/choice", json={"inquiry_id": replied.ids["Solhøj"], "justification": " "},
                         headers={"If-Match": case_etag(buyer, replied.path)})
    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["justification"]
    assert count(db, Choice) == 0 and len(mail.outbox_messages()) == 3  # only the inquiries
    done = buyer.post(f"{replied.path}/choice", json={"inquiry_id": replied.ids["Solhøj"],
                                                      "justification": "Borgeren kender stedet."},
                      headers={"If-Match": case_etag(buyer, replied.path)})
    assert done.status_code == 200 and done.json["justification"] == "Borgeren kender stedet."


# --- Refusals ---

def test_procurement_not_on_the_case_gets_404(db, api, staff, replied):
    stranger = api("procurement_other")
    path, inquiry_id = replied.path, replied.ids["Egely"]
    etag = case_etag(api("procurement"), path)
    for response in (
        stranger.get(f"{path}/requirement"),
        stranger.put(f"{path}/requirement", json={"age_band": "35–49"}, headers={"If-Match": "*"}),
        stranger.get(f"{path}/inquiries"),
        stranger.post(f"{path}/inquiries", json={"offer_ids": [1], "deadline": "2030-01-07"}),
        stranger.get(f"{path}/inquiries/{inquiry_id}"),
        stranger.post(f"{path}/inquiries/{inquiry_id}/replies", json=reply_body("100.00")),
        stranger.post(f"{path}/inquiries/{inquiry_id}/notes", json={"text": "Hej"}),
        stranger.post(f"{path}/inquiries/{inquiry_id}/revoke"),
        stranger.get(f"{path}/comparison"),
        stranger.post(f"{path}/choice", json={"inquiry_id": inquiry_id}, headers={"If-Match": etag}),
    ):
        assert response.status_code == 404, response.request.path
        assert response.headers["Content-Type"] == "application/problem+json"
    assert count(db, Choice) == 0 and count(db, NegotiationNote) == 0
    assert count(db, Reply) == 3 and count(db, Inquiry, Inquiry.revoked_at.is_not(None)) == 0


def test_an_inquiry_of_another_case_is_404_and_not_a_choice(db, api, staff, replied):
    other = make_case(staff.caseworker, procurement=staff.procurement)
    buyer = api("procurement")
    foreign = f"/cases/{other.id}/inquiries/{replied.ids['Egely']}"
    assert buyer.get(foreign).status_code == 404
    assert buyer.post(f"{foreign}/unseal").status_code == 404
    assert buyer.get(f"{replied.path}/inquiries/2147483647").status_code == 404
    assert buyer.get(f"{replied.path}/inquiries/99999999999").status_code == 404
    refused = buyer.post(f"/cases/{other.id}/choice", json={"inquiry_id": replied.ids["Egely"]},
                         headers={"If-Match": case_etag(buyer, f"/cases/{other.id}")})
    assert refused.status_code == 422 and list(refused.json["errors"]) == ["inquiry_id"]
    assert count(db, Choice) == 0


@pytest.mark.parametrize("login", ["caseworker", "economy"])
def test_only_the_procurement_colleague_chooses(db, api, replied, login):
    client = api(login)
    refused = client.post(f"{replied.path}/choice", json={"inquiry_id": replied.ids["Egely"]},
                          headers={"If-Match": case_etag(client, replied.path)})
    assert refused.status_code == 422
    assert refused.json["detail"] == "Valget træffes af sagens kollega fra indkøb."
    english = api(login, language="en").post(f"{replied.path}/choice", json={"inquiry_id": replied.ids["Egely"]},
                                              headers={"If-Match": case_etag(client, replied.path)})
    assert english.status_code == 422 and english.json["detail"] == "The case's procurement colleague makes the choice."
    assert count(db, Choice) == 0 and len(mail.outbox_messages()) == 3
    db.session.expire_all()
    assert db.session.get(PurchaseCase, replied.case.id).stage == Stage.DIALOGUE


def test_choosing_with_a_stale_case_etag_is_412(db, api, staff, replied):
    buyer = api("procurement")
    etag = case_etag(buyer, replied.path)
    body = {"inquiry_id": replied.ids["Egely"]}
    assert buyer.post(f"{replied.path}/choice", json=body).status_code == 428
    case = db.session.get(PurchaseCase, replied.case.id)  # someone else changes the case in the meantime
    case.budget_frame = Decimal("950000")
    db.session.commit()
    stale = buyer.post(f"{replied.path}/choice", json=body, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.headers["Content-Type"] == "application/problem+json"
    assert count(db, Choice) == 0 and len(mail.outbox_messages()) == 3
    assert count(db, Inquiry, Inquiry.declined_at.is_not(None)) == 0
    assert db.session.get(PurchaseCase, replied.case.id).stage == Stage.DIALOGUE
    fresh = buyer.post(f"{replied.path}/choice", json=body, headers={"If-Match": case_etag(buyer, replied.path)})
    assert fresh.status_code == 200


@pytest.mark.parametrize("field, text", [
    ("goals", "Karoline handler selv ind"),
    ("special_conditions", "Familien TESTESEN ønsker besøg"),
    ("functional_summary", "CPR 010190-1234"),
    ("services", "Bostøtte til borger født 010190"),
    ("age_band", "Karoline, 36 år"),
], ids=["first-name", "surname", "cpr", "birth-digits", "age-band"])
def test_a_requirement_naming_the_citizen_is_refused_at_its_field(db, api, built, field, text):
    caseworker = api("caseworker")
    body = requirement_body(caseworker, built.path, **{field: text})
    refused = caseworker.put(f"{built.path}/requirement", json=body)
    assert refused.status_code == 422
    assert refused.json["detail"] == NAMING and refused.json["errors"] == {field: [NAMING]}
    english = api("caseworker", language="en").put(f"{built.path}/requirement", json=body)
    assert english.json["errors"] == {field: ["The requirement must not contain the citizen's name or CPR number."]}
    assert count(db, Requirement) == 0
    assert caseworker.get(f"{built.path}/requirement").json["saved"] is False


def test_the_requirement_is_for_the_team_and_the_dialogue(db, api, staff, built):
    economy = api("economy")
    refused = economy.put(f"{built.path}/requirement", json=requirement_body(economy, built.path))
    assert refused.status_code == 422 and "errors" not in refused.json  # not about a field
    assert count(db, Requirement) == 0
    early = make_case(staff.caseworker, procurement=staff.procurement)
    caseworker = api("caseworker")
    assert caseworker.get(f"/cases/{early.id}/requirement").json["saved"] is False  # the draft, in any stage
    too_early = caseworker.put(f"/cases/{early.id}/requirement", json={"age_band": "35–49"})
    assert too_early.status_code == 422
    # Nothing is saved yet: an If-Match cannot be current.
    assert caseworker.put(f"{built.path}/requirement", json=requirement_body(caseworker, built.path),
                          headers={"If-Match": '"requirement-1-1"'}).status_code == 412
    assert count(db, Requirement) == 0


def test_sending_is_for_procurement_with_a_saved_requirement(db, api, built):
    buyer = api("procurement")
    body = {"offer_ids": [offer.id for offer in built.offers.values()],
            "deadline": dialogue.default_deadline(TODAY).isoformat()}
    without = buyer.post(f"{built.path}/inquiries", json=body)
    assert without.status_code == 422 and count(db, Inquiry) == 0
    assert buyer.put(f"{built.path}/requirement", json=requirement_body(buyer, built.path)).status_code == 200
    assert api("caseworker").post(f"{built.path}/inquiries", json=body).status_code == 422
    not_shortlisted = buyer.post(f"{built.path}/inquiries", json={**body, "offer_ids": [2147483647]})
    assert not_shortlisted.status_code == 422 and list(not_shortlisted.json["errors"]) == ["offer_ids"]
    past = buyer.post(f"{built.path}/inquiries", json={**body, "deadline": TODAY.isoformat()})
    assert past.status_code == 422 and list(past.json["errors"]) == ["deadline"]
    unknown = buyer.post(f"{built.path}/inquiries", json={**body, "sent_by_id": 1})
    assert unknown.status_code == 422 and list(unknown.json["errors"]["json"]) == ["sent_by_id"]
    assert count(db, Inquiry) == 0 and mail.outbox_messages() == []
    assert buyer.post(f"{built.path}/inquiries", json=body).status_code == 201
    again = buyer.post(f"{built.path}/inquiries", json=body)  # each offer is asked once
    assert again.status_code == 422 and count(db, Inquiry) == 3


def test_replies_are_entered_by_procurement_and_checked(db, api, asked):
    inquiry = f"{asked.path}/inquiries/{asked.ids['Egely']}"
    refused = api("caseworker").post(f"{inquiry}/replies", json=reply_body("2300.00"))
    assert refused.status_code == 422
    assert refused.json["detail"] == "Kun sagens kollega fra indkøb kan registrere svar manuelt."
    buyer = api("procurement")
    bad_unit = buyer.post(f"{inquiry}/replies", json=reply_body(
        "2300.00", lines=[{"description": "Døgntakst", "unit": "uge", "unit_price": "2300.00"}]))
    assert bad_unit.status_code == 422 and list(bad_unit.json["errors"]["json"]["lines"]["0"]) == ["unit"]
    no_lines = buyer.post(f"{inquiry}/replies", json=reply_body("2300.00", lines=[]))
    assert no_lines.status_code == 422 and no_lines.json["errors"] == {"lines": ["Angiv mindst én prislinje."]}
    zero = buyer.post(f"{inquiry}/replies", json=reply_body("0.00"))
    assert zero.status_code == 422 and list(zero.json["errors"]) == ["lines"]
    float_price = buyer.post(f"{inquiry}/replies", json=reply_body(2300.5))
    assert float_price.status_code == 422
    bad_channel = buyer.post(f"{inquiry}/replies", json=reply_body("2300.00", channel="link"))
    assert bad_channel.status_code == 422 and list(bad_channel.json["errors"]["json"]) == ["channel"]
    bad_email = buyer.post(f"{inquiry}/replies", json=reply_body("2300.00", contact_email="ikke en adresse"))
    assert bad_email.status_code == 422 and list(bad_email.json["errors"]["json"]) == ["contact_email"]
    assert count(db, Reply) == 0

    cannot = buyer.post(f"{inquiry}/replies", json=reply_body("2300.00", can_deliver=False, lines=[],
                                                              channel="e-mail"))
    assert cannot.status_code == 201 and cannot.json["lines"] == [] and cannot.json["annual_cost"] == "0.00"
    hourly = buyer.post(f"{inquiry}/replies", json=reply_body(
        "450.00", channel="negotiation",
        lines=[{"description": "Bostøtte", "unit": "time", "unit_price": "450.00", "quantity": "12.5"}]))
    assert hourly.status_code == 201 and hourly.json["number"] == 2
    assert hourly.json["lines"][0]["quantity"] == "12.50"
    db.session.expire_all()
    assert [(r.number, r.channel) for r in db.session.get(Inquiry, asked.ids["Egely"]).replies] == [
        (1, "e-mail"), (2, "negotiation")]


def test_sealed_replies_stay_hidden_until_procurement_opens_them(db, api, built):
    buyer, caseworker = api("procurement"), api("caseworker")
    assert buyer.put(f"{built.path}/requirement", json=requirement_body(buyer, built.path)).status_code == 200
    sent = buyer.post(f"{built.path}/inquiries", json={
        "offer_ids": [built.offers["Egely"].id], "deadline": dialogue.default_deadline(TODAY).isoformat(),
        "sealed": True})
    (inquiry,) = sent.json
    path = f"{built.path}/inquiries/{inquiry['id']}"
    assert buyer.post(f"{path}/replies", json=reply_body("2300.00")).status_code == 201
    hidden = caseworker.get(path).json
    assert hidden["sealed"] and not hidden["replies_visible"] and hidden["replies"] == []
    assert hidden["reply_count"] == 1
    (row,) = caseworker.get(f"{built.path}/comparison").json["rows"]
    assert row["visible"] is False and row["annual_cost"] is None and row["passes"] is False
    assert "2300" not in caseworker.get(f"{built.path}/comparison").get_data(as_text=True)

    refused = caseworker.post(f"{path}/unseal")
    assert refused.status_code == 422
    assert refused.json["detail"] == "Kun sagens kollega fra indkøb kan åbne forseglede svar."
    assert caseworker.get(path).json["replies"] == []
    opened = buyer.post(f"{path}/unseal")
    assert opened.status_code == 200 and opened.json["unsealed_at"] is not None
    assert opened.json["replies"][0]["lines"][0]["unit_price"] == "2300.00"
    assert caseworker.get(f"{built.path}/comparison").json["rows"][0]["annual_cost"] == "839500.00"


def test_preference_revocation_and_notes(db, api, asked):
    caseworker, buyer = api("caseworker"), api("procurement")
    path = f"{asked.path}/inquiries/{asked.ids['Solhøj']}"
    preferred = caseworker.post(f"{path}/prefer")
    assert preferred.status_code == 200 and preferred.json["citizen_preferred"] is True
    assert api("economy").post(f"{path}/unprefer").status_code == 422
    assert caseworker.post(f"{path}/unprefer").json["citizen_preferred"] is False
    assert caseworker.post(f"{path}/revoke").status_code == 422
    assert caseworker.get(path).json["status"] == "open"
    revoked = buyer.post(f"{path}/revoke")
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked" and revoked.json["revoked_at"]
    assert buyer.post(f"{path}/archive").status_code == 404
    assert buyer.post(f"{path}/prefer", json={"citizen_preferred": True}).status_code == 422  # no body
    assert api("economy").post(f"{path}/notes", json={"text": "Budget ok"}).status_code == 422
    assert buyer.post(f"{path}/notes", json={"text": "   "}).status_code == 422
    assert buyer.post(f"{path}/notes", json={"text": "Ringede\x00"}).status_code == 422
    assert buyer.post(f"{path}/notes", json={"text": "Ringede: kan sænke prisen 2 %"}).status_code == 201
    notes = caseworker.get(path).json["notes"]
    assert [note["text"] for note in notes] == ["Ringede: kan sænke prisen 2 %"]


def test_a_mail_the_server_refuses_shows_as_not_sent_and_is_resent(app, db, api, built, monkeypatch):
    from tests.support.smtp import smtp_server

    buyer = api("procurement")
    assert buyer.put(f"{built.path}/requirement", json=requirement_body(buyer, built.path)).status_code == 200
    with smtp_server() as (controller, handler):
        for key, value in (("MAIL_SERVER", controller.hostname), ("MAIL_PORT", controller.port),
                           ("MAIL_USE_TLS", False), ("MAIL_USERNAME", "")):
            monkeypatch.setitem(app.config, key, value)
        handler.refused = {"svar@bakkely.example"}
        sent = buyer.post(f"{built.path}/inquiries", json={
            "offer_ids": [offer.id for offer in built.offers.values()],
            "deadline": dialogue.default_deadline(TODAY).isoformat()})
        assert sent.status_code == 201
        mailed = {item["offer"]["name"]: item["mailed_at"] for item in sent.json}
        assert mailed["Bakkely"] is None and mailed["Solhøj"] and mailed["Egely"]
        assert sorted(message["To"] for message in handler.messages()) == [
            "kontakt@egely.example", "tilbud@solhoej.example"]

        path = f"{built.path}/inquiries/{next(item['id'] for item in sent.json if item['mailed_at'] is None)}"
        assert buyer.post(f"{path}/resend").json["mailed_at"] is None, "refused again"
        assert api("caseworker").post(f"{path}/resend").status_code == 422
        handler.refused = set()
        resent = buyer.post(f"{path}/resend")
        assert resent.status_code == 200 and resent.json["mailed_at"] is not None
        assert handler.messages()[-1]["To"] == "svar@bakkely.example"
        assert buyer.post(f"{path}/revoke").status_code == 200
        assert buyer.post(f"{path}/resend").status_code == 422  # a revoked link is not sent again
    assert count(db, Inquiry, Inquiry.mailed_at.is_(None)) == 0
