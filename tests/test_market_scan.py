"""Market scan, shortlist and offer registry: scoring on built data, filters, warnings, annual cost, price
history, the shortlist and the start of the dialogue through the pages, registry access, editing and import."""
from __future__ import annotations

import io
import itertools
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from tests.factories import make_case, to_market_scan
from tests.support.queries import statements_of_get
from workflow.models import (
    AuditEvent,
    Offer,
    OfferImport,
    OfferPrice,
    OfferTerm,
    PurchaseCase,
    ShortlistEntry,
    Supplier,
)
from workflow.process import Event, Stage
from workflow.services import market_scan, registry, settings, shortlist, transitions
from workflow.services.market_scan import CaseNeeds, ScanFilters, annual_cost, run_scan
from workflow.services.registry import OfferInput, SupplierInput

TODAY = date(2026, 11, 26)
RECENT = date(2026, 11, 1)
EXAMPLE = Path(__file__).parent / "data" / "offers-example.csv"
_cvrs = itertools.count(40000000)


# --- Building the registry ------------------------------------------------------------------------------------

def new_supplier(name: str = "Lindely ApS", supplier_type: str = "privat") -> Supplier:
    return registry.create_supplier(SupplierInput(cvr=str(next(_cvrs)), name=name, supplier_type=supplier_type))


def offer_data(name: str, *, legal_bases=("SEL-108",), target_groups=("intellectual_disability",),
               service_types=("residence", "socio_educational_support"), municipality="101", price="2000.00",
               unit="døgn", effective=date(2026, 1, 1), approval="approved", updated=RECENT, places=10,
               vacancies=2, framework=False) -> OfferInput:
    return OfferInput(
        key=f"K-{name}", name=name, municipality=municipality, list_price=Decimal(price), price_unit=unit,
        price_effective_from=effective, approval_status=approval, data_updated_on=updated,
        legal_bases=list(legal_bases), target_groups=list(target_groups), service_types=list(service_types),
        places=places, vacancies=vacancies, approved_on=date(2019, 3, 15) if approval == "approved" else None,
        framework_agreement=framework, framework_name="Rammeaftale Hovedstaden" if framework else "")


def new_offer(supplier: Supplier, name: str, **changes) -> Offer:
    return registry.create_offer(supplier, offer_data(name, **changes), TODAY)


def needs(**changes) -> CaseNeeds:
    values = {"target_group": "intellectual_disability", "home_municipality": "101",
              "budget_frame": Decimal("900000"), "hours_per_week": None, "acute": False,
              "wanted_services": ["residence", "socio_educational_support"]}
    values.update(changes)
    return CaseNeeds(**values)


def scan(case: PurchaseCase, filters: ScanFilters | None = None, **need_changes):
    return run_scan(case, needs(**need_changes), filters or ScanFilters(legal_basis="SEL-108"), TODAY)


def warnings_en(row) -> list[str]:
    """The row's warnings as an English reader sees them (they are translated when shown)."""
    with force_locale("en"):
        return [str(text) for text in row.warnings]


def reasons_en(row) -> dict[str, str]:
    with force_locale("en"):
        return {part.key: part.reason for part in row.parts}


def names(rows) -> set[str]:
    return {row.offer_name for row in rows}


def by_name(rows) -> dict:
    return {row.offer_name: row for row in rows}


def count(db, model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


# --- 1. Ranking ------------------------------------------------------------------------------------------------

def test_ranking_is_the_sum_of_the_parts_and_each_factor_counts(db, staff):
    case = make_case(staff.caseworker)
    supplier = new_supplier()
    new_offer(supplier, "base")
    new_offer(supplier, "other_group", target_groups=("autism",))          # fit
    new_offer(supplier, "dearer", price="2300.00")                          # price against the median
    new_offer(supplier, "aarhus", municipality="751")                       # distance
    new_offer(supplier, "pending", approval="pending")                      # approval
    new_offer(supplier, "older", updated=date(2026, 4, 1))                  # freshness: 7 months
    new_offer(supplier, "sel85", legal_bases=("SEL-85",))                   # another legal basis
    new_offer(supplier, "inactive").active = False
    db.session.commit()

    rows = scan(case)

    # The median of the døgn prices is 2000: ratio 1 gives round(15 * 0.5) = 8 points, 2300 (ratio 1.15)
    # gives round(15 * 0.35) = 5; 730.000 and 839.500 a year are both within the 900.000 frame (+10).
    # Aarhus is 156.8 km from København: round(15 * (1 - 156.8 / 300)) = 7. Pending approval: 3 points.
    # Seven months old (of 12): 6 points instead of 10. Without the target group: 0 of 25 for it.
    base = {"fit": 40, "price": 18, "distance": 15, "approval": 10, "freshness": 10}
    expected = {
        "base": base,
        "dearer": {**base, "price": 15},
        "older": {**base, "freshness": 6},
        "pending": {**base, "approval": 3},
        "aarhus": {**base, "distance": 7},
        "other_group": {**base, "fit": 15},
    }
    assert [row.offer_name for row in rows] == ["base", "dearer", "older", "pending", "aarhus", "other_group"]
    assert [row.score for row in rows] == [93, 90, 89, 86, 85, 68]
    assert {row.offer_name: {part.key: part.points for part in row.parts} for row in rows} == expected
    for row in rows:
        assert [part.key for part in row.parts] == ["fit", "price", "distance", "approval", "freshness"]
        assert row.score == sum(part.points for part in row.parts)
        assert row.median_price == Decimal("2000.00")

    found = by_name(rows)
    assert "sel85" not in found and "inactive" not in found
    assert found["base"].annual_cost == Decimal("730000.00") and found["base"].distance == 0
    assert found["dearer"].annual_cost == Decimal("839500.00")
    assert found["aarhus"].distance == pytest.approx(156.8, abs=0.1) and found["aarhus"].municipality == "Aarhus"
    reasons = {name: reasons_en(row) for name, row in found.items()}
    assert reasons["base"]["price"] == "+0 % against the median of comparable offers; within the budget frame"
    assert reasons["dearer"]["price"].startswith("+15 % against the median")
    assert reasons["aarhus"]["distance"] == "157 km from the home municipality"
    assert reasons["pending"]["approval"] == "approval pending"
    assert reasons["older"]["freshness"] == "updated 7 months ago"
    assert reasons["other_group"]["fit"] == "does not list the case's target group; 2 of 2 wanted services"

    by_price = scan(case, ScanFilters(legal_basis="SEL-108", sort="price"))
    assert by_price[-1].offer_name == "dearer"
    by_distance = scan(case, ScanFilters(legal_basis="SEL-108", sort="distance"))
    assert by_distance[-1].offer_name == "aarhus"


def test_wanted_services_share_the_fit_points(db, staff):
    case = make_case(staff.caseworker)
    supplier = new_supplier()
    new_offer(supplier, "both")
    new_offer(supplier, "one", service_types=("residence", "training"))
    new_offer(supplier, "none", service_types=("training",))
    db.session.commit()
    fit = {row.offer_name: row.parts[0].points for row in scan(case)}
    assert fit == {"both": 40, "one": 25 + 8, "none": 25}   # 1 of 2 wanted: round(7.5) = 8
    fit_no_wishes = {row.offer_name: row.parts[0].points for row in scan(case, wanted_services=[])}
    assert fit_no_wishes == {"both": 40, "one": 40, "none": 40}


def test_median_counts_only_active_offers_of_the_legal_basis_and_the_same_price_unit(db, staff):
    case = make_case(staff.caseworker)
    supplier = new_supplier()
    new_offer(supplier, "low", price="2000.00")
    new_offer(supplier, "high", price="2400.00")
    new_offer(supplier, "inactive", price="9000.00").active = False
    new_offer(supplier, "sel85", legal_bases=("SEL-85",), price="9000.00")
    new_offer(supplier, "monthly", price="9000.00", unit="måned")
    db.session.commit()
    found = by_name(scan(case))
    assert found["low"].median_price == found["high"].median_price == Decimal("2200.00")
    assert found["monthly"].median_price == Decimal("9000.00")
    # 2000 / 2200: round(15 * 0.59) = 9; 2400 / 2200: round(15 * 0.41) = 6; both within the frame (+10).
    assert found["low"].parts[1].points == 9 + 10
    assert found["high"].parts[1].points == 6 + 10


def test_price_above_the_budget_frame_loses_budget_points_gradually(db, staff):
    case = make_case(staff.caseworker)
    new_offer(new_supplier(), "offer", price="3000.00")   # 1.095.000 a year, 21.7 % above 900.000
    db.session.commit()
    [row] = scan(case)
    # The median is its own price (8 points); round(10 * (1 - 2 * 0.2167)) = 6 of the 10 budget points.
    assert row.parts[1].points == 8 + 6
    assert reasons_en(row)["price"] == "+0 % against the median of comparable offers; above the budget frame"
    assert warnings_en(row) == ["The annual cost is above the case's budget frame."]


@pytest.mark.parametrize("updated, points, warned", [
    (date(2026, 5, 27), 10, None),   # 5 months
    (date(2026, 5, 26), 6, None),    # 6 months: half the stale limit
    (date(2025, 11, 27), 6, None),   # 11 months
    (date(2025, 11, 26), 0, 12),     # 12 months: stale
    (date(2024, 1, 10), 0, 34),
])
def test_freshness_by_whole_months(db, staff, updated, points, warned):
    case = make_case(staff.caseworker)
    new_offer(new_supplier(), "offer", updated=updated)
    db.session.commit()
    [row] = scan(case)
    assert row.parts[4].points == points
    stale = f"The offer's data has not been updated for {warned} months."
    assert warnings_en(row) == ([stale] if warned else [])


def test_stale_limit_comes_from_the_settings(db, staff):
    case = make_case(staff.caseworker)
    new_offer(new_supplier(), "offer", updated=date(2026, 5, 26))
    settings.change("offer_stale_months", 6)
    db.session.commit()
    [row] = scan(case)
    assert row.parts[4].points == 0
    assert warnings_en(row) == ["The offer's data has not been updated for 6 months."]


def test_registry_and_market_scan_agree_on_stale_data(db, staff, make_client):
    today = date.today()   # the registry pages use today's date
    boundary = date(today.year - 1, today.month, min(today.day, 28))
    case = make_case(staff.caseworker)
    registry.create_offer(new_supplier(), offer_data("Grænsehuset", updated=boundary), today)
    db.session.commit()
    [row] = run_scan(case, needs(), ScanFilters(legal_basis="SEL-108"), today)
    stale_in_scan = row.parts[4].points == 0
    assert stale_in_scan and warnings_en(row) == ["The offer's data has not been updated for 12 months."]
    listed_as_stale = "Grænsehuset" in make_client("caseworker").get("/offers?stale=1").get_data(as_text=True)
    assert listed_as_stale == stale_in_scan


# --- 2. Filters ------------------------------------------------------------------------------------------------

@pytest.fixture
def filter_offers(db, staff):
    supplier = new_supplier()
    new_offer(supplier, "base")
    new_offer(supplier, "full", vacancies=0)
    new_offer(supplier, "pending", approval="pending")
    new_offer(supplier, "framework", framework=True)
    new_offer(supplier, "aarhus", municipality="751")
    new_offer(supplier, "aalborg", municipality="851")
    new_offer(supplier, "dear", price="3000.00")                   # 1.095.000 a year
    new_offer(supplier, "autism", target_groups=("autism",))
    new_offer(supplier, "training", service_types=("residence", "training"))
    new_offer(supplier, "hourly", unit="time", price="650.00")      # no annual cost without hours
    case = make_case(staff.caseworker)
    db.session.commit()
    return case


ALL = {"base", "full", "pending", "framework", "aarhus", "aalborg", "dear", "autism", "training", "hourly"}


@pytest.mark.parametrize("changes, expected", [
    ({}, ALL),
    ({"vacancy_only": True}, ALL - {"full"}),
    ({"approved_only": True}, ALL - {"pending"}),
    ({"framework_only": True}, {"framework"}),
    ({"max_km": 100}, ALL - {"aarhus", "aalborg"}),
    ({"max_km": 200}, ALL - {"aalborg"}),
    ({"max_annual": Decimal("1000000")}, ALL - {"dear", "hourly"}),
    ({"max_annual": Decimal("1095000")}, ALL - {"hourly"}),
    ({"target_group": "autism"}, {"autism"}),
    ({"target_group": "intellectual_disability"}, ALL - {"autism"}),
    ({"service_types": ["training"]}, {"training"}),
    ({"service_types": ["residence", "training"]}, {"training"}),
    ({"service_types": ["socio_educational_support"]}, ALL - {"training"}),
    ({"vacancy_only": True, "approved_only": True, "max_km": 100}, ALL - {"full", "pending", "aarhus", "aalborg"}),
    ({"legal_basis": "SEL-85"}, set()),
])
def test_filters_exclude_what_they_should(filter_offers, changes, expected):
    filters = ScanFilters(**{"legal_basis": "SEL-108", **changes})
    assert names(scan(filter_offers, filters)) == expected


def test_max_annual_counts_hourly_offers_once_the_hours_are_known(filter_offers):
    filters = ScanFilters(legal_basis="SEL-108", max_annual=Decimal("1000000"))
    found = by_name(scan(filter_offers, filters, hours_per_week=10))
    assert set(found) == ALL - {"dear"}
    assert found["hourly"].annual_cost == Decimal("338000.00")   # 650 × 10 × 52


# --- 3. Warnings -----------------------------------------------------------------------------------------------

@pytest.fixture
def warning_offers(db, staff):
    supplier = new_supplier()
    new_offer(supplier, "clean")
    new_offer(supplier, "clean_too")
    new_offer(supplier, "eleven_months", updated=date(2025, 11, 27))
    new_offer(supplier, "stale", updated=date(2025, 11, 26))
    new_offer(supplier, "pending", approval="pending")
    new_offer(supplier, "not_approved", approval="not_approved")
    new_offer(supplier, "no_vacancy", vacancies=0)
    new_offer(supplier, "far_above", price="2600.00")      # exactly 30 % above the median of 2000
    new_offer(supplier, "just_below", price="2590.00")     # 29.5 %
    new_offer(supplier, "over_budget", price="90000.00", unit="måned")   # 1.080.000 a year
    case = make_case(staff.caseworker)
    db.session.commit()
    return case


NOT_APPROVED = "Not approved: may only be used in an acute case, for at most three weeks."
NOT_APPROVED_ACUTE = "Not approved: in an acute case the offer may be used for at most three weeks."


@pytest.mark.parametrize("acute, not_approved", [(False, NOT_APPROVED), (True, NOT_APPROVED_ACUTE)])
def test_warnings(warning_offers, acute, not_approved):
    rows = by_name(scan(warning_offers, acute=acute, budget_frame=Decimal("1000000")))
    assert {name: warnings_en(row) for name, row in rows.items()} == {
        "clean": [],
        "clean_too": [],
        "eleven_months": [],
        "stale": ["The offer's data has not been updated for 12 months."],
        "pending": [not_approved],
        "not_approved": [not_approved],
        "no_vacancy": ["No vacancies reported."],
        "far_above": ["The price is 30 % above the median of comparable offers."],
        "just_below": [],
        "over_budget": ["The annual cost is above the case's budget frame."],
    }
    assert rows["not_approved"].parts[3].points == 0 and rows["pending"].parts[3].points == 3
    # 1.080.000 is 8 % above the frame: round(10 * (1 - 0.16)) = 8 budget points (and 8 for the median).
    assert rows["over_budget"].parts[1].points == 8 + 8
    assert rows["over_budget"].annual_cost == Decimal("1080000.00")


def test_a_clean_offer_has_no_warnings_when_everything_is_fine(db, staff):
    case = make_case(staff.caseworker, acute=True)
    new_offer(new_supplier(), "clean")
    db.session.commit()
    [row] = scan(case, acute=True)
    assert warnings_en(row) == [] and row.score == 93


# --- 4. Annual cost --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("price, unit, hours, expected", [
    ("2450.50", "døgn", None, "894432.50"),
    ("2450.50", "døgn", 37, "894432.50"),      # hours only matter for hourly prices
    ("14500.00", "måned", None, "174000.00"),
    ("650.00", "time", 37, "1250600.00"),
    ("123.45", "time", 3, "19258.20"),
    ("0.10", "døgn", None, "36.50"),           # 0.1 * 365 in floats is 36.500000000000004
    ("0.10", "time", 1, "5.20"),
    ("75000.00", "engangsbeløb", None, "75000.00"),
])
def test_annual_cost(price, unit, hours, expected):
    result = annual_cost(Decimal(price), unit, hours)
    assert isinstance(result, Decimal)
    assert result == Decimal(expected) and str(result) == expected


@pytest.mark.parametrize("hours", [None, 0])
def test_annual_cost_of_an_hourly_price_needs_the_hours(hours):
    assert annual_cost(Decimal("650.00"), "time", hours) is None


# --- 5. Price history ------------------------------------------------------------------------------------------

def test_update_offer_keeps_the_price_history(db):
    offer = new_offer(new_supplier(), "base")
    db.session.commit()
    assert count(db, OfferPrice, OfferPrice.offer_id == offer.id) == 1

    changed = registry.update_offer(offer, offer.version, offer_data("base", vacancies=1), TODAY)
    db.session.commit()
    assert set(changed) == {"vacancies"}
    assert count(db, OfferPrice, OfferPrice.offer_id == offer.id) == 1

    changed = registry.update_offer(offer, offer.version, offer_data(
        "base", vacancies=1, price="2100.00", effective=date(2026, 12, 1)), TODAY)
    db.session.commit()
    assert changed["list_price"] == ["2000.00", "2100.00"]
    db.session.expire_all()
    offer = db.session.get(Offer, offer.id)
    assert offer.list_price == Decimal("2100.00") and offer.price_effective_from == date(2026, 12, 1)
    assert [(p.price, p.unit, p.effective_from) for p in offer.prices] == [
        (Decimal("2100.00"), "døgn", date(2026, 12, 1)), (Decimal("2000.00"), "døgn", date(2026, 1, 1))]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "offer.changed")
                               .order_by(AuditEvent.id.desc())).first()
    assert event.object_id == offer.id and event.details["changes"]["list_price"] == ["2000.00", "2100.00"]

    # Saving the same again changes nothing and adds no price.
    assert registry.update_offer(offer, offer.version, offer_data(
        "base", vacancies=1, price="2100.00", effective=date(2026, 12, 1)), TODAY) == {}
    db.session.commit()
    assert count(db, OfferPrice, OfferPrice.offer_id == offer.id) == 2


# --- 6. The shortlist through the pages ------------------------------------------------------------------------

@pytest.fixture
def scan_case(db, staff):
    case = make_case(staff.caseworker, procurement=staff.procurement, economy=staff.economy)
    to_market_scan(case, staff.caseworker)
    return case


@pytest.fixture
def offers(db):
    supplier = new_supplier()
    made = [new_offer(supplier, "first"), new_offer(supplier, "second"),
            new_offer(supplier, "framework", framework=True)]
    db.session.commit()
    return made


def add_url(case) -> str:
    return f"/cases/{case.id}/shortlist"


def entries_of(db, case) -> list[ShortlistEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(ShortlistEntry).where(ShortlistEntry.case_id == case.id)
                                   .order_by(ShortlistEntry.id)))


@pytest.mark.parametrize("login", ["caseworker", "procurement"])
def test_caseworker_and_assigned_procurement_edit_the_shortlist(db, staff, make_client, scan_case, offers, login):
    client = make_client(login)
    assert client.get(f"/cases/{scan_case.id}/market-scan").status_code == 200
    added = client.submit(add_url(scan_case), {"offer_id": offers[0].id, "score": "93", "note": "Tæt på søsteren"},
                          form_page=f"/cases/{scan_case.id}/market-scan")
    assert added.status_code == 302
    assert added.headers["Location"].endswith(f"/cases/{scan_case.id}/market-scan#kortliste")
    [entry] = entries_of(db, scan_case)
    assert (entry.offer_id, entry.note, entry.score, entry.added_by_id) == (
        offers[0].id, "Tæt på søsteren", 93, staff[login].id)
    page = client.get(f"/cases/{scan_case.id}/market-scan").get_data(as_text=True)
    assert "first er nu på kortlisten." in page   # the flash
    assert "Tæt på søsteren" in page

    noted = client.submit(f"/cases/{scan_case.id}/shortlist/{entry.id}/note", {"note": "  Har ledig plads  "},
                          form_page=f"/cases/{scan_case.id}/market-scan")
    assert noted.status_code == 302
    assert entries_of(db, scan_case)[0].note == "Har ledig plads"

    removed = client.submit(f"/cases/{scan_case.id}/shortlist/{entry.id}/remove", {},
                            form_page=f"/cases/{scan_case.id}/market-scan")
    assert removed.status_code == 302
    assert entries_of(db, scan_case) == []

    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("shortlist.%"))
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.case_id, e.actor_id, e.details["offer_id"]) for e in events] == [
        ("shortlist.added", scan_case.id, staff[login].id, offers[0].id),
        ("shortlist.note", scan_case.id, staff[login].id, offers[0].id),
        ("shortlist.removed", scan_case.id, staff[login].id, offers[0].id)]


REFUSED = "Kortlisten kan kun ændres under markedsafdækningen"


@pytest.mark.parametrize("login", ["economy", "manager"])
def test_others_on_the_case_see_the_shortlist_but_cannot_change_it(db, staff, make_client, scan_case, offers, login):
    entry = shortlist.add(scan_case, offers[0], staff.caseworker, "Oprindelig note")
    db.session.commit()
    entry_id = entry.id
    client = make_client(login)
    page = client.get(f"/cases/{scan_case.id}/market-scan").get_data(as_text=True)
    assert "Oprindelig note" in page and "Sæt på kortlisten" not in page and "/remove" not in page

    response = client.submit(add_url(scan_case), {"offer_id": offers[1].id}, form_page="/offers")
    assert response.status_code == 302
    assert REFUSED in client.get(response.headers["Location"]).get_data(as_text=True)
    client.submit(f"/cases/{scan_case.id}/shortlist/{entry_id}/note", {"note": "Ændret"}, form_page="/offers")
    client.submit(f"/cases/{scan_case.id}/shortlist/{entry_id}/remove", {}, form_page="/offers")

    [kept] = entries_of(db, scan_case)
    assert (kept.id, kept.offer_id, kept.note) == (entry_id, offers[0].id, "Oprindelig note")
    assert count(db, AuditEvent, AuditEvent.action.like("shortlist.%")) == 1


@pytest.mark.parametrize("login", ["caseworker_other", "manager_other", "procurement_other", "economy_other"])
def test_those_who_cannot_see_the_case_get_404(db, staff, make_client, scan_case, offers, login):
    entry = shortlist.add(scan_case, offers[0], staff.caseworker, "Oprindelig note")
    db.session.commit()
    entry_id = entry.id
    client = make_client(login)
    assert client.get(f"/cases/{scan_case.id}/market-scan").status_code == 404
    assert client.submit(add_url(scan_case), {"offer_id": offers[1].id}, form_page="/offers").status_code == 404
    assert client.submit(f"/cases/{scan_case.id}/shortlist/{entry_id}/note", {"note": "Ændret"},
                         form_page="/offers").status_code == 404
    assert client.submit(f"/cases/{scan_case.id}/shortlist/{entry_id}/remove", {},
                         form_page="/offers").status_code == 404
    [kept] = entries_of(db, scan_case)
    assert (kept.id, kept.note) == (entry_id, "Oprindelig note")


def test_admin_has_no_market_scan(db, staff, make_client, scan_case, offers):
    client = make_client("admin")
    assert client.get(f"/cases/{scan_case.id}/market-scan").status_code == 403
    assert client.submit(add_url(scan_case), {"offer_id": offers[0].id}, form_page="/offers").status_code == 403
    assert entries_of(db, scan_case) == []


def test_an_offer_is_shortlisted_once_and_only_while_active(db, staff, make_client, scan_case, offers):
    client = make_client("caseworker")
    assert client.submit(add_url(scan_case), {"offer_id": offers[0].id}, form_page="/offers").status_code == 302
    again = client.submit(add_url(scan_case), {"offer_id": offers[0].id, "note": "igen"}, form_page="/offers")
    assert again.status_code == 302
    assert "Tilbuddet er allerede på kortlisten." in client.get(again.headers["Location"]).get_data(as_text=True)
    assert [(e.offer_id, e.note) for e in entries_of(db, scan_case)] == [(offers[0].id, None)]

    offer = db.session.get(Offer, offers[1].id)
    offer.active = False
    db.session.commit()
    inactive = client.submit(add_url(scan_case), {"offer_id": offers[1].id}, form_page="/offers")
    assert "Tilbuddet er ikke længere aktivt." in client.get(inactive.headers["Location"]).get_data(as_text=True)
    assert len(entries_of(db, scan_case)) == 1
    assert client.submit(add_url(scan_case), {"offer_id": 999999}, form_page="/offers").status_code == 404
    assert count(db, AuditEvent, AuditEvent.action == "shortlist.added") == 1


def test_an_entry_of_another_case_is_not_found(db, staff, make_client, scan_case, offers):
    other = make_case(staff.caseworker, procurement=staff.procurement, name="Anna Jensen")
    to_market_scan(other, staff.caseworker)
    foreign = shortlist.add(other, offers[0], staff.caseworker)
    db.session.commit()
    foreign_id = foreign.id
    client = make_client("caseworker")
    assert client.submit(f"/cases/{scan_case.id}/shortlist/{foreign_id}/remove", {},
                         form_page="/offers").status_code == 404
    assert len(entries_of(db, other)) == 1


def test_no_shortlist_changes_after_the_market_scan(db, staff, make_client, scan_case, offers):
    entry = shortlist.add(scan_case, offers[0], staff.caseworker, "Før dialogen")
    db.session.commit()
    transitions.take_step(scan_case, Event.START_DIALOGUE, staff.caseworker)
    db.session.commit()
    entry_id = entry.id
    for login in ("caseworker", "procurement"):
        client = make_client(login)
        response = client.submit(add_url(scan_case), {"offer_id": offers[1].id}, form_page="/offers")
        assert REFUSED in client.get(response.headers["Location"]).get_data(as_text=True)
        client.submit(f"/cases/{scan_case.id}/shortlist/{entry_id}/note", {"note": "Ændret"}, form_page="/offers")
        client.submit(f"/cases/{scan_case.id}/shortlist/{entry_id}/remove", {}, form_page="/offers")
    assert [(e.id, e.note) for e in entries_of(db, scan_case)] == [(entry_id, "Før dialogen")]
    assert count(db, AuditEvent, AuditEvent.action.like("shortlist.%")) == 1


# --- 7. Starting the dialogue through the pages ----------------------------------------------------------------

FEWER_THAN_THREE = "Der er færre end tre tilbud på kortlisten."
EMPTY_SHORTLIST = "Sæt mindst ét tilbud på kortlisten."


def page_version(client, case) -> tuple[str, str]:
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    return page, re.search(r'name="version" value="(\d+)"', page).group(1)


def start_dialogue(client, case, version):
    return client.submit(f"/cases/{case.id}/steps/start_dialogue", {"version": version},
                         form_page=f"/cases/{case.id}")


def stage_of(db, case) -> str:
    db.session.expire_all()
    return db.session.get(PurchaseCase, case.id).stage


def test_dialogue_needs_a_shortlisted_offer(db, staff, make_client, scan_case, offers):
    client = make_client("caseworker")
    page, version = page_version(client, scan_case)
    assert EMPTY_SHORTLIST in page and FEWER_THAN_THREE not in page
    refused = start_dialogue(client, scan_case, version)
    assert refused.status_code == 302
    assert EMPTY_SHORTLIST in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert stage_of(db, scan_case) == Stage.MARKET_SCAN

    client.submit(add_url(scan_case), {"offer_id": offers[0].id}, form_page="/offers")
    page, version = page_version(client, scan_case)
    assert FEWER_THAN_THREE in page and EMPTY_SHORTLIST not in page
    assert start_dialogue(client, scan_case, version).status_code == 302
    assert stage_of(db, scan_case) == Stage.DIALOGUE
    assert db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "case.step",
                                                               AuditEvent.case_id == scan_case.id)
                              .order_by(AuditEvent.id.desc())).first()["event"] == "start_dialogue"


def test_procurement_on_the_case_may_start_the_dialogue(db, staff, make_client, scan_case, offers):
    shortlist.add(scan_case, offers[0], staff.procurement)
    db.session.commit()
    client = make_client("procurement")
    page, version = page_version(client, scan_case)
    assert start_dialogue(client, scan_case, version).status_code == 302
    assert stage_of(db, scan_case) == Stage.DIALOGUE


@pytest.mark.parametrize("shortlisted, acute, warned", [
    (["first"], False, True),
    (["first", "second"], False, True),
    (["first", "second", "third"], False, False),
    (["first"], True, False),
    (["framework"], False, False),
    (["first", "framework"], False, False),
])
def test_warning_about_fewer_than_three_offers(db, staff, make_client, shortlisted, acute, warned):
    supplier = new_supplier()
    made = {name: new_offer(supplier, name, framework=name == "framework")
            for name in ("first", "second", "third", "framework")}
    case = make_case(staff.caseworker, procurement=staff.procurement, acute=acute)
    to_market_scan(case, staff.caseworker)
    for name in shortlisted:
        shortlist.add(case, made[name], staff.caseworker)
    db.session.commit()
    client = make_client("caseworker")
    page, version = page_version(client, case)
    assert (FEWER_THAN_THREE in page) is warned
    assert start_dialogue(client, case, version).status_code == 302   # a warning, never a block
    assert stage_of(db, case) == Stage.DIALOGUE


def test_the_warning_in_english(db, staff, make_client, scan_case, offers):
    shortlist.add(scan_case, offers[0], staff.caseworker)
    db.session.commit()
    client = make_client("caseworker")
    client.submit("/language", {"language": "en", "next": "/"}, form_page="/")
    page = client.get(f"/cases/{scan_case.id}").get_data(as_text=True)
    assert "Fewer than three offers are shortlisted. Consider adding more before the dialogue." in page


# --- 8. Registry access ----------------------------------------------------------------------------------------

ROLES = ["caseworker", "procurement", "economy", "manager", "admin"]
EDITORS = {"procurement", "admin"}


@pytest.mark.parametrize("login", ROLES)
def test_everyone_reads_the_registry_and_only_editors_edit(db, staff, make_client, offers, login):
    offer = offers[0]
    client = make_client(login)
    for url in ("/offers", f"/offers/{offer.id}", f"/offers/suppliers/{offer.supplier_id}"):
        assert client.get(url).status_code == 200, url
    expected = 200 if login in EDITORS else 403
    for url in ("/offers/new", f"/offers/{offer.id}/edit", "/offers/suppliers/new",
                f"/offers/suppliers/{offer.supplier_id}/edit", "/offers/import"):
        assert client.get(url).status_code == expected, url


@pytest.mark.parametrize("login", ["caseworker", "economy", "manager"])
def test_non_editors_cannot_post_to_the_registry(db, staff, make_client, offers, login):
    client = make_client(login)
    response = client.submit("/offers/suppliers/new", {"name": "Ny ApS", "cvr": "55555555",
                                                       "supplier_type": "privat"}, form_page="/offers")
    assert response.status_code == 403
    upload = client.post("/offers/import", data={"csrf_token": client.token("/offers"),
                                                 "file": (io.BytesIO(EXAMPLE.read_bytes()), "offers.csv")},
                         content_type="multipart/form-data")
    assert upload.status_code == 403
    assert count(db, Supplier) == 1 and count(db, OfferImport) == 0


def test_offer_and_supplier_pages_list_only_cases_the_user_may_see(db, staff, make_client, offers):
    offer = offers[0]
    home = make_case(staff.caseworker, procurement=staff.procurement, name="Jens Hansen")
    away = make_case(staff.caseworker_other, procurement=staff.procurement_other, name="Mette Olsen")
    for case, owner in ((home, staff.caseworker), (away, staff.caseworker_other)):
        to_market_scan(case, owner)
        shortlist.add(case, offer, owner)
    db.session.commit()
    home_number, away_number = home.number, away.number
    sees = {"caseworker": {home_number}, "manager": {home_number}, "procurement": {home_number},
            "caseworker_other": {away_number}, "procurement_other": {away_number}, "economy": set(), "admin": set()}
    for login, visible in sees.items():
        client = make_client(login)
        for url in (f"/offers/{offer.id}", f"/offers/suppliers/{offer.supplier_id}"):
            page = client.get(url).get_data(as_text=True)
            assert {n for n in (home_number, away_number) if n in page} == visible, (login, url)


# --- 9. Editing the registry through the form ------------------------------------------------------------------

def offer_form(supplier_id: int, **changes) -> dict:
    values = {
        "supplier_id": str(supplier_id), "key": "TP-9001", "name": "Egebo Botilbud", "address": "Egevej 1",
        "municipality": "147", "legal_bases": ["SEL-108", "SEL-85"], "target_groups": ["autism"],
        "service_types": ["residence"], "places": "12", "vacancies": "3", "list_price": "2.450,50",
        "price_unit": "døgn", "price_effective_from": "01-01-2026", "approval_status": "approved",
        "approved_on": "15-03-2019", "data_updated_on": "01-11-2026", "quality_note": "", "active": "y",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def test_procurement_creates_an_offer_with_a_danish_price(db, staff, make_client):
    supplier = new_supplier("Egebo A/S")
    db.session.commit()
    client = make_client("procurement")
    response = client.submit("/offers/new", offer_form(supplier.id), form_page="/offers/new")
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    db.session.expire_all()
    offer = db.session.scalar(select(Offer).where(Offer.key == "TP-9001"))
    assert response.headers["Location"] == f"/offers/{offer.id}"
    assert offer.list_price == Decimal("2450.50") and isinstance(offer.list_price, Decimal)
    assert (offer.supplier_id, offer.municipality, offer.places, offer.vacancies) == (supplier.id, "147", 12, 3)
    assert offer.legal_bases == ["SEL-108", "SEL-85"] and offer.target_groups == ["autism"]
    assert [(p.price, p.effective_from) for p in offer.prices] == [(Decimal("2450.50"), date(2026, 1, 1))]
    assert "2.450,50" in client.get(f"/offers/{offer.id}").get_data(as_text=True)


@pytest.mark.parametrize("changes, field, message", [
    ({"vacancies": "13"}, "vacancies", "Vacancies go from 0 to the number of places."),
    ({"legal_bases": None}, "legal_bases", None),
    ({"list_price": "to tusind"}, "list_price", "Write an amount in kroner, for example 1.234,50."),
    ({"list_price": "0,00"}, "list_price", "The list price must be above zero."),
    ({"approved_on": ""}, "approved_on", "Give the date of the approval."),
])
def test_bad_offer_input_shows_the_error_and_changes_nothing(db, staff, make_client, changes, field, message):
    supplier = new_supplier("Egebo A/S")
    db.session.commit()
    client = make_client("procurement")
    client.submit("/language", {"language": "en", "next": "/"}, form_page="/")
    before = {model: count(db, model) for model in (Offer, OfferPrice, OfferTerm, AuditEvent)}
    response = client.submit("/offers/new", offer_form(supplier.id, **changes), form_page="/offers/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(rf'<span class="form-error-message" id="{field}-error">', body), body[-3000:]
    if message:
        assert message in body
    assert {model: count(db, model) for model in before} == before


# --- 10. Import through the pages ------------------------------------------------------------------------------

def upload(client, content: bytes, filename: str = "offers.csv"):
    return client.post("/offers/import", data={"csrf_token": client.token("/offers/import"),
                                               "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


CONFIRM_FORM = "<form method=\"post\" novalidate>"


def test_import_with_preview_and_confirmation(db, staff, make_client):
    client = make_client("procurement")
    uploaded = upload(client, EXAMPLE.read_bytes())
    assert uploaded.status_code == 302
    preview_url = uploaded.headers["Location"]
    batch = db.session.scalar(select(OfferImport))
    assert preview_url == f"/offers/import/{batch.id}" and batch.status == "preview"
    assert count(db, Offer) == 0, "the upload alone imports nothing"

    preview = client.get(preview_url).get_data(as_text=True)
    assert CONFIRM_FORM in preview
    assert re.search(r"<dd>6</dd>", preview)      # rows and new offers

    confirmed = client.submit(preview_url, {}, form_page=preview_url)
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/offers"
    db.session.expire_all()
    assert count(db, Offer) == 6 and count(db, Supplier) == 4
    lindely = db.session.scalar(select(Offer).where(Offer.key == "TP-1001"))
    assert lindely.list_price == Decimal("2450.00") and lindely.framework_agreement is True
    assert lindely.legal_bases == ["SEL-108", "SEL-85"]
    mentor = db.session.scalar(select(Offer).where(Offer.key == "TP-4001"))
    assert (mentor.price_unit, mentor.list_price) == ("time", Decimal("650.00"))
    batch = db.session.get(OfferImport, batch.id)
    assert batch.status == "applied" and batch.summary["new_offers"] == 6

    # Confirming the same file again does nothing.
    again = client.submit(preview_url, {}, form_page="/offers")
    assert again.status_code == 200 and "Filen er allerede behandlet." in again.get_data(as_text=True)
    db.session.expire_all()
    assert count(db, Offer) == 6 and count(db, OfferPrice) == 6
    assert count(db, AuditEvent, AuditEvent.action == "offers.imported") == 1


def test_a_file_with_an_error_cannot_be_confirmed(db, staff, make_client):
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    assert ";751;SEL-107;" in lines[2]
    lines[2] = lines[2].replace(";751;SEL-107;", ";999;SEL-107;")
    client = make_client("procurement")
    uploaded = upload(client, "".join(lines).encode("utf-8"))
    assert uploaded.status_code == 302
    preview_url = uploaded.headers["Location"]
    preview = client.get(preview_url).get_data(as_text=True)
    assert "municipality_code" in preview and re.search(r"<td>3</td><td>municipality_code</td>", preview)
    assert CONFIRM_FORM not in preview

    response = client.submit(preview_url, {}, form_page="/offers")
    assert response.status_code == 200
    db.session.expire_all()
    assert count(db, Offer) == 0 and count(db, Supplier) == 0 and count(db, OfferPrice) == 0
    assert db.session.scalar(select(OfferImport.status)) == "preview"


def test_an_upload_that_is_not_text_is_refused(db, staff, make_client):
    client = make_client("procurement")
    response = upload(client, b"\xff\xfe\x00\x00garbage\x80\x81")
    assert response.status_code == 200
    assert "form-error-message" in response.get_data(as_text=True)
    assert count(db, OfferImport) == 0


# --- 11. The page's cost does not grow with the offers --------------------------------------------------------

def add_varied_offers(db, case, staff, start: int, stop: int) -> None:
    """Offers of their own suppliers, places, units, approvals and ages; every third on the shortlist."""
    for number in range(start, stop):
        offer = new_offer(new_supplier(f"Leverandør {number}"), f"offer {number}",
                          municipality=("101", "751", "851")[number % 3], unit=("døgn", "måned", "time")[number % 3],
                          price=str(1000 + 100 * number), approval=("approved", "pending")[number % 2],
                          updated=date(2025, 1 + number % 12, 1), vacancies=number % 2, framework=number % 5 == 0)
        if number % 3 == 0:
            shortlist.add(case, offer, staff.caseworker)
    db.session.commit()


def test_the_scan_page_makes_as_many_queries_for_twenty_offers_as_for_two(db, staff, make_client, scan_case):
    client = make_client("caseworker")
    add_varied_offers(db, scan_case, staff, 0, 2)
    few = statements_of_get(client, f"/cases/{scan_case.id}/market-scan")
    add_varied_offers(db, scan_case, staff, 2, 20)
    page = client.get(f"/cases/{scan_case.id}/market-scan").get_data(as_text=True)
    assert page.count('class="scan-row"') == 20
    assert statements_of_get(client, f"/cases/{scan_case.id}/market-scan") == few


def test_the_best_offers_are_the_first_of_the_whole_ranking(db, staff, scan_case):
    add_varied_offers(db, scan_case, staff, 0, 12)
    filters = ScanFilters(legal_basis="SEL-108")
    everything = run_scan(scan_case, needs(), filters, TODAY)
    best = market_scan.scan(scan_case, needs(), filters, TODAY, best=5)
    assert best.total == len(everything) == 12
    with force_locale("en"):
        described = [[(row.offer_name, row.score, row.shortlisted, row.annual_cost, [str(w) for w in row.warnings],
                       [(part.key, part.points, part.reason) for part in row.parts]) for row in rows]
                     for rows in (best.rows, everything[:5])]
    assert described[0] == described[1]
