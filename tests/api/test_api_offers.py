"""The offer registry, its import and a case's shortlist through the API."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories import make_case, to_market_scan
from workflow import clock
from workflow.extensions import db as _db
from workflow.models import AccessLog, AuditEvent, Offer, OfferImport, OfferPrice, ShortlistEntry, Supplier
from workflow.process import Event, Stage
from workflow.services import registry, shortlist, transitions
from workflow.services.offer_import import COLUMNS

_cvrs = iter(range(41_000_000, 42_000_000))


def count(model, *conditions) -> int:
    return _db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def new_supplier(name: str = "Lindely ApS", supplier_type: str = "privat") -> Supplier:
    return registry.create_supplier(registry.SupplierInput(cvr=str(next(_cvrs)), name=name,
                                                           supplier_type=supplier_type))


def new_offer(supplier: Supplier, name: str, *, key: str | None = None, legal_bases=("SEL-108",),
              target_groups=("intellectual_disability",), service_types=("residence",), municipality="101",
              price="2000.00", approval="approved", updated=None, active=True) -> Offer:
    today = clock.today()
    offer = registry.create_offer(supplier, registry.OfferInput(
        key=key or f"K-{name}", name=name, municipality=municipality, list_price=Decimal(price), price_unit="døgn",
        price_effective_from=today.replace(month=1, day=1), approval_status=approval,
        data_updated_on=updated or today, legal_bases=list(legal_bases), target_groups=list(target_groups),
        service_types=list(service_types), places=10, vacancies=2,
        approved_on=today.replace(year=2019) if approval == "approved" else None), today)
    offer.active = active
    return offer


@pytest.fixture
def registry_offers(db, staff):
    """Five offers of two suppliers, one of them inactive and one with stale data."""
    lindely, aarhus = new_supplier("Lindely ApS"), new_supplier("Aarhus Kommune", "kommunal")
    made = {
        "Birkely": new_offer(lindely, "Birkely", key="TP-1", price="2450.50"),
        "Egebo": new_offer(lindely, "Egebo", key="TP-2", legal_bases=("SEL-85",), service_types=("training",)),
        "Fyrrely": new_offer(aarhus, "Fyrrely", key="TP-3", municipality="751", approval="pending",
                             target_groups=("autism",)),
        "Granly": new_offer(aarhus, "Granly", key="TP-4", updated=clock.today() - timedelta(days=3 * 366)),
        "Hasselbo": new_offer(lindely, "Hasselbo", key="TP-5", active=False),
    }
    db.session.commit()
    return {name: offer.id for name, offer in made.items()}


def names(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json["items"]]


# --- The registry ------------------------------------------------------------------------------------------------

def test_everyone_on_the_staff_lists_and_reads_the_registry(api, registry_offers):
    for login in ("caseworker", "procurement", "economy", "manager", "admin"):
        listed = api(login).get("/offers")
        assert names(listed) == ["Birkely", "Egebo", "Fyrrely", "Granly"], login
        assert {key: listed.json[key] for key in ("total", "page", "pages", "page_size")} == \
            {"total": 4, "page": 1, "pages": 1, "page_size": 50}

    read = api("caseworker").get(f"/offers/{registry_offers['Birkely']}")
    assert read.status_code == 200, read.json
    offer = read.json
    assert (offer["key"], offer["list_price"], offer["price_unit"]) == ("TP-1", "2450.50", "døgn")
    assert offer["supplier"]["name"] == "Lindely ApS" and offer["supplier"]["charges_vat"] is True
    assert (offer["legal_bases"], offer["target_groups"], offer["service_types"]) == \
        (["SEL-108"], ["intellectual_disability"], ["residence"])
    assert offer["prices"] == [{"price": "2450.50", "unit": "døgn",
                                "effective_from": clock.today().replace(month=1, day=1).isoformat()}]
    assert offer["stale"] is False and offer["active"] is True
    assert read.headers["ETag"] == f'"offer-{offer["id"]}-{offer["version"]}"'

    assert api("caseworker").get("/offers/2147483647").status_code == 404
    assert api("caseworker").get("/offers/2147483648").status_code == 404


FILTERS = [
    ("q=birk", ["Birkely"]),                            # part of the offer's name, any case
    ("q=aarhus", ["Fyrrely", "Granly"]),                # the supplier's name
    ("q=TP-2", ["Egebo"]),                              # the exact registry id
    ("q=%25", ["Birkely", "Egebo", "Fyrrely", "Granly"]),   # a wildcard is only a character
    ("legal_basis=SEL-85", ["Egebo"]),
    ("service_type=training", ["Egebo"]),
    ("target_group=autism", ["Fyrrely"]),
    ("municipality=751", ["Fyrrely"]),
    ("approval=pending", ["Fyrrely"]),
    ("stale=true", ["Granly"]),
    ("inactive=true", ["Birkely", "Egebo", "Fyrrely", "Granly", "Hasselbo"]),
    ("inactive=true&legal_basis=SEL-108&municipality=101", ["Birkely", "Granly", "Hasselbo"]),
]
BAD_FILTERS = [
    ("legal_basis=SEL-999", "legal_basis"), ("municipality=999", "municipality"), ("approval=maybe", "approval"),
    ("page_size=101", "page_size"), ("page=0", "page"), ("page=1.5", "page"),
    ("page=" + "9" * 5000, "page"), ("q=" + "x" * 101, "q"), ("q=a%00b", "q"),
]


def test_the_list_filters_like_the_registry_page(api, registry_offers):
    economy = api("economy")
    for query, expected in FILTERS:
        assert names(economy.get(f"/offers?{query}")) == expected, query


def test_bad_filters_are_refused(api, registry_offers):
    caseworker = api("caseworker", "en")
    for query, field in BAD_FILTERS:
        refused = caseworker.get(f"/offers?{query}")
        assert refused.status_code == 422, query
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert field in refused.json["errors"]["query"], query


def test_the_list_comes_in_pages(api, registry_offers):
    caseworker = api("caseworker")
    first = caseworker.get("/offers?page_size=3")
    assert names(first) == ["Birkely", "Egebo", "Fyrrely"]
    assert (first.json["total"], first.json["page"], first.json["pages"], first.json["page_size"]) == (4, 1, 2, 3)
    second = caseworker.get("/offers?page_size=3&page=2")
    assert names(second) == ["Granly"] and second.json["page"] == 2
    beyond = caseworker.get("/offers?page_size=3&page=99")
    assert names(beyond) == ["Granly"] and beyond.json["page"] == 2, "a page beyond the last is the last"


# --- Import ------------------------------------------------------------------------------------------------------

GOOD = {
    "key": "TP-9001", "supplier_cvr": "11111111", "supplier_name": "Egebo A/S", "supplier_ean": "",
    "supplier_type": "privat", "offer_name": "Egebo Botilbud", "address": "Egevej 1", "municipality_code": "147",
    "legal_bases": "SEL-108", "target_groups": "autism", "service_types": "residence", "places": "12",
    "vacancies": "3", "list_price": "2.450,50", "price_unit": "døgn", "price_effective_from": "01-01-2026",
    "approval_status": "godkendt", "approved_on": "15-03-2019", "framework_agreement": "nej",
    "framework_name": "", "data_updated_on": "01-01-2026", "quality_note": "",
}


def to_csv(*rows: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for values in rows:
        writer.writerow([values[name] for name in COLUMNS])
    return out.getvalue()


def test_an_import_is_previewed_then_applied_once(api, db, staff):
    procurement = api("procurement", "en")
    bad_and_good = to_csv(GOOD, {**GOOD, "key": "TP-9002", "municipality_code": "999", "vacancies": "13"})
    uploaded = procurement.post("/offer-imports", json={"filename": "tilbud.csv", "content": bad_and_good})
    assert uploaded.status_code == 201, uploaded.json
    batch = uploaded.json
    assert uploaded.headers["Location"].endswith(f"/api/v1/offer-imports/{batch['id']}")
    assert (batch["filename"], batch["status"], batch["summary"]) == ("tilbud.csv", "preview", None)
    assert batch["uploaded_by"]["id"] == staff.procurement.id
    plan = batch["plan"]
    assert plan["ok"] is False and plan["error_count"] == 2 and plan["rows"] == 0
    assert plan["errors"] == [
        {"line": 3, "column": "municipality_code", "message": "Unknown municipality code: 999"},
        {"line": 3, "column": "vacancies", "message": "Vacancies (13) exceed places (12)."},
    ]
    assert procurement.get(f"/offer-imports/{batch['id']}").json["plan"] == plan
    refused = procurement.post(f"/offer-imports/{batch['id']}/apply")
    assert refused.status_code == 422 and refused.json["detail"] == "The file has errors and cannot be imported."
    db.session.expire_all()
    assert count(Offer) == 0 and count(Supplier) == 0
    assert db.session.get(OfferImport, batch["id"]).status == "preview"

    good = procurement.post("/offer-imports", json={"content": to_csv(GOOD, {**GOOD, "key": "TP-9002"})})
    assert good.status_code == 201 and good.json["filename"] == "offers.csv"
    assert {key: good.json["plan"][key] for key in ("ok", "rows", "new_offers", "new_suppliers", "error_count")} == \
        {"ok": True, "rows": 2, "new_offers": 2, "new_suppliers": 1, "error_count": 0}
    assert count(Offer) == 0, "the upload alone imports nothing"

    applied = procurement.post(f"/offer-imports/{good.json['id']}/apply")
    assert applied.status_code == 200, applied.json
    assert applied.json["status"] == "applied" and applied.json["plan"] is None
    assert applied.json["summary"] == {"rows": 2, "new_offers": 2, "updated_offers": 0, "unchanged_offers": 0,
                                       "new_suppliers": 1, "updated_suppliers": 0, "new_prices": 2}
    db.session.expire_all()
    assert count(Offer) == 2 and count(OfferPrice) == 2
    egebo = db.session.scalar(select(Offer).where(Offer.key == "TP-9001"))
    assert egebo.list_price == Decimal("2450.50") and egebo.supplier.cvr == "11111111"

    again = procurement.post(f"/offer-imports/{good.json['id']}/apply")
    assert again.status_code == 422 and again.json["detail"] == "This file has been handled already."
    in_danish = api("admin").post(f"/offer-imports/{good.json['id']}/apply")
    assert in_danish.status_code == 422 and in_danish.json["detail"] == "Filen er allerede behandlet."
    db.session.expire_all()
    assert count(Offer) == 2 and count(OfferPrice) == 2
    assert count(AuditEvent, AuditEvent.action == "offers.imported") == 1
    assert procurement.get(f"/offer-imports/{good.json['id']}").json["summary"]["new_offers"] == 2


@pytest.mark.parametrize("login", ["caseworker", "economy", "manager"])
def test_only_the_registry_editors_import(api, db, staff, login):
    batch = api("procurement").post("/offer-imports", json={"content": to_csv(GOOD)}).json
    user = api(login)
    assert user.post("/offer-imports", json={"content": to_csv(GOOD)}).status_code == 403
    assert user.get(f"/offer-imports/{batch['id']}").status_code == 403
    assert user.post(f"/offer-imports/{batch['id']}/apply").status_code == 403
    db.session.expire_all()
    assert count(OfferImport) == 1 and count(Offer) == 0
    assert db.session.get(OfferImport, batch["id"]).status == "preview"
    assert api("procurement").get("/offer-imports/2147483647").status_code == 404


BAD_UPLOADS = [
    ({}, "content"),
    ({"content": ""}, "content"),
    ({"content": "key;name\x00\r\n"}, "content"),
    ({"content": "x" * 5_000_001}, "content"),
    ({"content": "key\r\n", "filename": "f" * 201}, "filename"),
    ({"content": "key\r\n", "uploaded_by_id": 1}, "uploaded_by_id"),
]


def test_an_upload_that_cannot_be_a_file_is_refused(api, db, staff):
    procurement = api("procurement")
    for body, field in BAD_UPLOADS:
        refused = procurement.post("/offer-imports", json=body)
        assert refused.status_code == 422, field
        assert field in refused.json["errors"]["json"], field
    assert count(OfferImport) == 0


# --- The shortlist -----------------------------------------------------------------------------------------------

@pytest.fixture
def scan_case(db, staff):
    case = make_case(staff.caseworker, procurement=staff.procurement, economy=staff.economy)
    to_market_scan(case, staff.caseworker)
    return case


@pytest.fixture
def offers(db, staff):
    supplier = new_supplier()
    made = [new_offer(supplier, name) for name in ("Birkely", "Egebo", "Fyrrely")]
    db.session.commit()
    return [offer.id for offer in made]


def test_caseworker_and_procurement_keep_the_shortlist(api, db, staff, scan_case, offers):
    path = f"/cases/{scan_case.id}/shortlist"
    caseworker, procurement = api("caseworker"), api("procurement")
    added = caseworker.post(path, json={"offer_id": offers[0], "note": " Tæt på søsteren ", "score": 93})
    assert added.status_code == 201, added.json
    entry = added.json
    assert (entry["offer"]["id"], entry["offer"]["name"], entry["offer"]["supplier_name"]) == \
        (offers[0], "Birkely", "Lindely ApS")
    assert (entry["note"], entry["score"], entry["added_by"]["id"]) == ("Tæt på søsteren", 93, staff.caseworker.id)
    second = procurement.post(path, json={"offer_id": offers[1]})
    assert second.status_code == 201 and (second.json["note"], second.json["score"]) == (None, None)

    noted = procurement.patch(f"{path}/{entry['id']}", json={"note": "Har ledig plads"})
    assert noted.status_code == 200 and noted.json["note"] == "Har ledig plads"
    assert caseworker.delete(f"{path}/{second.json['id']}").status_code == 204

    listed = api("manager").get(path)
    assert listed.status_code == 200
    assert [(item["offer"]["id"], item["note"]) for item in listed.json["items"]] == [(offers[0], "Har ledig plads")]
    assert listed.json["can_edit"] is False and caseworker.get(path).json["can_edit"] is True
    assert count(AccessLog, AccessLog.case_id == scan_case.id, AccessLog.action == "shortlist.view",
                 AccessLog.user_id == staff.manager.id) == 1
    assert [row for row, in db.session.execute(
        select(AuditEvent.action).where(AuditEvent.case_id == scan_case.id, AuditEvent.action.like("shortlist.%"))
        .order_by(AuditEvent.id))] == ["shortlist.added", "shortlist.added", "shortlist.note", "shortlist.removed"]


def test_the_shortlist_refuses_what_the_pages_refuse(api, db, staff, scan_case, offers):
    path = f"/cases/{scan_case.id}/shortlist"
    caseworker = api("caseworker", "en")
    entry = caseworker.post(path, json={"offer_id": offers[0]}).json

    twice = caseworker.post(path, json={"offer_id": offers[0]})
    assert twice.status_code == 422 and twice.json["detail"] == "The offer is on the shortlist already."
    unknown = caseworker.post(path, json={"offer_id": 2147483647})
    assert unknown.status_code == 422 and "offer_id" in unknown.json["errors"]
    for body in ({"offer_id": offers[1], "score": 101}, {"offer_id": offers[1], "note": "x" * 2001},
                 {"offer_id": offers[1], "added_by_id": staff.manager.id}, {"note": "no offer"}):
        assert caseworker.post(path, json=body).status_code == 422, body
    db.session.get(Offer, offers[2]).active = False
    db.session.commit()
    inactive = caseworker.post(path, json={"offer_id": offers[2]})
    assert inactive.status_code == 422 and inactive.json["detail"] == "This offer is no longer active."

    for login in ("manager", "economy"):   # they see the case, but may not change its shortlist
        user = api(login)
        assert user.post(path, json={"offer_id": offers[1]}).status_code == 403, login
        assert user.patch(f"{path}/{entry['id']}", json={"note": "Nej"}).status_code == 403, login
        assert user.delete(f"{path}/{entry['id']}").status_code == 403, login
    for login in ("caseworker_other", "procurement_other"):   # another unit: no such case for them
        user = api(login)
        assert user.get(path).status_code == 404, login
        assert user.post(path, json={"offer_id": offers[1]}).status_code == 404, login
        assert user.patch(f"{path}/{entry['id']}", json={"note": "Nej"}).status_code == 404, login
        assert user.delete(f"{path}/{entry['id']}").status_code == 404, login
    other_case = make_case(staff.caseworker)
    assert caseworker.delete(f"/cases/{other_case.id}/shortlist/{entry['id']}").status_code == 404
    assert caseworker.patch(f"{path}/2147483647", json={"note": "Nej"}).status_code == 404

    db.session.expire_all()
    assert [(e.offer_id, e.note) for e in db.session.scalars(select(ShortlistEntry))] == [(offers[0], None)]
    assert count(AccessLog, AccessLog.user_id == staff.caseworker_other.id) == 0


def test_the_shortlist_is_changed_only_in_the_market_scan(api, db, staff, offers):
    needs_case = make_case(staff.caseworker, procurement=staff.procurement)
    refused = api("caseworker", "en").post(f"/cases/{needs_case.id}/shortlist", json={"offer_id": offers[0]})
    assert refused.status_code == 422
    assert refused.json["detail"] == ("The shortlist can only be changed in the market scan, by the case's "
                                      "caseworkers and procurement colleague.")
    in_danish = api("procurement").post(f"/cases/{needs_case.id}/shortlist", json={"offer_id": offers[0]})
    assert in_danish.status_code == 422 and in_danish.headers["Content-Language"] == "da"
    assert in_danish.json["detail"].startswith("Kortlisten kan kun ændres under markedsafdækningen")

    to_market_scan(needs_case, staff.caseworker)
    entry = shortlist.add(needs_case, db.session.get(Offer, offers[0]), staff.caseworker)
    db.session.commit()
    entry_id = entry.id
    transitions.take_step(needs_case, Event.START_DIALOGUE, staff.caseworker)
    db.session.commit()
    assert needs_case.stage == Stage.DIALOGUE
    path = f"/cases/{needs_case.id}/shortlist/{entry_id}"
    assert api("caseworker").patch(path, json={"note": "For sent"}).status_code == 422
    assert api("procurement").delete(path).status_code == 422
    assert api("caseworker").get(f"/cases/{needs_case.id}/shortlist").json["can_edit"] is False
    db.session.expire_all()
    assert db.session.get(ShortlistEntry, entry_id).note is None
