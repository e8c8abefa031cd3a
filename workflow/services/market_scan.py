"""The market scan (stage 2): which offers fit a case, what they cost, and how far to trust them.

Every score is the sum of visible parts, each with the reason it got its points, so that the
caseworker and procurement can see why an offer ranks where it does.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, select

from workflow import pricing
from workflow.extensions import db
from workflow.models import Offer, OfferTerm, PurchaseCase, ShortlistEntry, Supplier
from workflow.municipalities import BY_CODE as MUNICIPALITIES
from workflow.municipalities import distance_km
from workflow.services import registry, settings

FAR_ABOVE_MEDIAN = Decimal("1.30")   # warn when the price is 30 % or more above comparable offers
MAX_DISTANCE_FOR_POINTS = 300        # km; nearer is better, further gives no distance points
SORTS = ("score", "price", "distance")

PART_LABELS = {
    "fit": _l("Fit to needs"),
    "price": _l("Price"),
    "distance": _l("Distance"),
    "approval": _l("Approval"),
    "freshness": _l("Data freshness"),
}
PART_MAX = {"fit": 40, "price": 25, "distance": 15, "approval": 10, "freshness": 10}


@dataclass
class ScanFilters:
    legal_basis: str
    target_group: str = ""
    service_types: list[str] = field(default_factory=list)
    vacancy_only: bool = False
    approved_only: bool = False
    framework_only: bool = False
    max_km: int | None = None
    max_annual: Decimal | None = None
    sort: str = "score"


@dataclass
class ScorePart:
    """Points for one part of the score, with the reasons (translated only when shown)."""

    key: str
    points: int
    reasons: object  # a lazily translated text, or a list of them

    @property
    def reason(self) -> str:
        if isinstance(self.reasons, list):
            return "; ".join(str(text) for text in self.reasons)
        return str(self.reasons)

    @property
    def label(self) -> str:
        return str(PART_LABELS[self.key])

    @property
    def max_points(self) -> int:
        return PART_MAX[self.key]


@dataclass
class ScanRow:
    offer_id: int
    offer_name: str
    supplier_id: int
    supplier_name: str
    supplier_type: str
    municipality: str
    distance: float | None
    list_price: Decimal
    price_unit: str
    annual_cost: Decimal | None
    median_price: Decimal | None
    vacancies: int
    places: int
    approval_status: str
    framework: bool
    framework_name: str | None
    data_updated_on: date
    target_groups: list[str]
    service_types: list[str]
    parts: list[ScorePart]
    warnings: list  # lazily translated texts
    shortlisted: bool = False

    @property
    def score(self) -> int:
        return sum(part.points for part in self.parts)


def annual_cost(price: Decimal, unit: str, hours_per_week: int | None) -> Decimal | None:
    """What a year costs at this list price, or None when the hours are not known."""
    return pricing.yearly(price, unit, (hours_per_week or None) if unit == "time" else 1)


def _medians(legal_basis: str) -> dict[str, Decimal]:
    """Median list price per price unit among all active offers under the same legal basis."""
    rows = db.session.execute(
        select(Offer.price_unit, Offer.list_price).where(
            Offer.active.is_(True),
            exists().where(OfferTerm.offer_id == Offer.id, OfferTerm.kind == "legal_basis",
                           OfferTerm.code == legal_basis))).all()
    by_unit: dict[str, list[Decimal]] = {}
    for unit, price in rows:
        by_unit.setdefault(unit, []).append(price)
    return {unit: Decimal(statistics.median(prices)).quantize(Decimal("0.01")) for unit, prices in by_unit.items()}


def _has(kind: str, code: str):
    return exists().where(OfferTerm.offer_id == Offer.id, OfferTerm.kind == kind, OfferTerm.code == code)


def _candidates(filters: ScanFilters):
    conditions = [Offer.active.is_(True), _has("legal_basis", filters.legal_basis)]
    if filters.target_group:
        conditions.append(_has("target_group", filters.target_group))
    conditions.extend(_has("service_type", code) for code in filters.service_types)
    if filters.vacancy_only:
        conditions.append(Offer.vacancies > 0)
    if filters.approved_only:
        conditions.append(Offer.approval_status == "approved")
    if filters.framework_only:
        conditions.append(Offer.framework_agreement.is_(True))
    return db.session.execute(
        select(Offer.id, Offer.name, Offer.supplier_id, Supplier.name, Supplier.supplier_type, Offer.municipality,
               Offer.list_price, Offer.price_unit, Offer.vacancies, Offer.places, Offer.approval_status,
               Offer.framework_agreement, Offer.framework_name, Offer.data_updated_on)
        .join(Supplier, Supplier.id == Offer.supplier_id).where(and_(*conditions))).all()


def _terms(offer_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    found: dict[int, dict[str, list[str]]] = {}
    for start in range(0, len(offer_ids), 900):  # stay under SQLite's parameter limit
        chunk = offer_ids[start:start + 900]
        for offer_id, kind, code in db.session.execute(
                select(OfferTerm.offer_id, OfferTerm.kind, OfferTerm.code).where(
                    OfferTerm.offer_id.in_(chunk), OfferTerm.kind.in_(("target_group", "service_type")))):
            found.setdefault(offer_id, {}).setdefault(kind, []).append(code)
    return found


@dataclass
class CaseNeeds:
    """What the scan needs to know of the case."""

    target_group: str
    home_municipality: str
    budget_frame: Decimal | None
    hours_per_week: int | None
    acute: bool
    wanted_services: list[str]


def _fit(row_groups, row_services, needs: CaseNeeds) -> ScorePart:
    points, reasons = 0, []
    if needs.target_group in row_groups:
        points += 25
        reasons.append(_l("serves the case's target group"))
    else:
        reasons.append(_l("does not list the case's target group"))
    if needs.wanted_services:
        matched = len(set(needs.wanted_services) & set(row_services))
        points += round(15 * matched / len(needs.wanted_services))
        reasons.append(_l("%(matched)s of %(wanted)s wanted services", matched=matched,
                         wanted=len(needs.wanted_services)))
    else:
        points += 15
    return ScorePart("fit", points, reasons)


def _price(annual: Decimal | None, price: Decimal, median: Decimal | None, needs: CaseNeeds,
           warnings: list[str]) -> ScorePart:
    points, reasons = 0, []
    if median:
        ratio = price / median
        points += max(0, min(15, round(15 * (Decimal("1.5") - ratio))))
        percent = int(((ratio - 1) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        reasons.append(_l("%(percent)s %% against the median of comparable offers", percent=f"{percent:+d}"))
        if ratio >= FAR_ABOVE_MEDIAN:
            warnings.append(_l("The price is %(percent)s %% above the median of comparable offers.", percent=percent))
    if annual is not None and needs.budget_frame:
        over = (annual - needs.budget_frame) / needs.budget_frame
        points += 10 if over <= 0 else max(0, round(10 * (1 - 2 * over)))
        if over > 0:
            reasons.append(_l("above the budget frame"))
            warnings.append(_l("The annual cost is above the case's budget frame."))
        else:
            reasons.append(_l("within the budget frame"))
    elif annual is None:
        reasons.append(_l("annual cost unknown: no hours per week in the needs assessment"))
    return ScorePart("price", points, reasons)


def _distance(km: float | None) -> ScorePart:
    if km is None:
        return ScorePart("distance", 0, _l("distance unknown"))
    points = max(0, round(PART_MAX["distance"] * (1 - km / MAX_DISTANCE_FOR_POINTS)))
    return ScorePart("distance", points, _l("%(km)s km from the home municipality", km=f"{km:.0f}"))


def _approval(status: str, acute: bool, warnings: list[str]) -> ScorePart:
    if status == "approved":
        return ScorePart("approval", 10, _l("approved by Socialtilsynet"))
    if acute:
        warnings.append(_l("Not approved: in an acute case the offer may be used for at most three weeks."))
    else:
        warnings.append(_l("Not approved: may only be used in an acute case, for at most three weeks."))
    if status == "pending":
        return ScorePart("approval", 3, _l("approval pending"))
    return ScorePart("approval", 0, _l("not approved"))


def _freshness(updated: date, today: date, stale_after: int, cutoff: date, warnings: list[str]) -> ScorePart:
    months = registry.months_between(updated, today)
    if updated <= cutoff:
        warnings.append(_l("The offer's data has not been updated for %(n)s months.", n=months))
        return ScorePart("freshness", 0, _l("updated %(n)s months ago", n=months))
    points = 10 if months < stale_after / 2 else 6
    return ScorePart("freshness", points, _l("updated %(n)s months ago", n=months))


def run_scan(case: PurchaseCase, needs: CaseNeeds, filters: ScanFilters, today: date) -> list[ScanRow]:
    """The offers that pass the filters, scored and ranked, with warnings."""
    rows = _candidates(filters)
    terms = _terms([row[0] for row in rows])
    medians = _medians(filters.legal_basis)
    home = MUNICIPALITIES.get(needs.home_municipality)
    stale_after = settings.get("offer_stale_months")
    cutoff = registry.stale_cutoff(today)
    shortlisted = set(db.session.scalars(select(ShortlistEntry.offer_id).where(ShortlistEntry.case_id == case.id)))
    results = []
    for (offer_id, name, supplier_id, supplier_name, supplier_type, municipality, price, unit, vacancies, places,
         approval, framework, framework_name, updated) in rows:
        place = MUNICIPALITIES.get(municipality)
        km = distance_km(home, place) if home and place else None
        if filters.max_km is not None and (km is None or km > filters.max_km):
            continue
        annual = annual_cost(price, unit, needs.hours_per_week)
        if filters.max_annual is not None and (annual is None or annual > filters.max_annual):
            continue
        groups = terms.get(offer_id, {}).get("target_group", [])
        services = terms.get(offer_id, {}).get("service_type", [])
        warnings: list[str] = []
        if vacancies <= 0:
            warnings.append(_l("No vacancies reported."))
        parts = [_fit(groups, services, needs), _price(annual, price, medians.get(unit), needs, warnings),
                 _distance(km), _approval(approval, needs.acute, warnings),
                 _freshness(updated, today, stale_after, cutoff, warnings)]
        results.append(ScanRow(
            offer_id=offer_id, offer_name=name, supplier_id=supplier_id, supplier_name=supplier_name,
            supplier_type=supplier_type, municipality=place.name if place else municipality, distance=km,
            list_price=price, price_unit=unit, annual_cost=annual, median_price=medians.get(unit),
            vacancies=vacancies, places=places, approval_status=approval, framework=framework,
            framework_name=framework_name, data_updated_on=updated, target_groups=groups, service_types=services,
            parts=parts, warnings=warnings, shortlisted=offer_id in shortlisted))
    keys = {
        "score": lambda r: (-r.score, r.annual_cost or r.list_price, r.offer_id),
        "price": lambda r: (r.annual_cost is None, r.annual_cost or r.list_price, r.offer_id),
        "distance": lambda r: (r.distance is None, r.distance or 0, r.offer_id),
    }
    results.sort(key=keys[filters.sort if filters.sort in SORTS else "score"])
    return results
