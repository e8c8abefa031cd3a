"""The market scan (stage 2): which offers fit a case, what they cost, and how far to trust them.

Every score is the sum of visible parts, each with the reason it got its points, so that the
caseworker and procurement can see why an offer ranks where it does.

Hundreds of offers can fit a legal basis. The database filters them and counts their terms (one
query for the offers, one for the medians); Python scores them, as the rules below are written once,
with Python's rounding, distances and months; and only the offers a page shows keep their parts and
texts. A text is a cheap pair of a message and its values, translated once per page for all the
offers shown (workflow/market/texts.py).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, Row, cast, exists, func, literal, select

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

# The reasons and warnings, by key; a Text names one with its values.
MESSAGES = {
    "serves_group": _l("serves the case's target group"),
    "lacks_group": _l("does not list the case's target group"),
    "services_matched": _l("%(matched)s of %(wanted)s wanted services"),
    "against_median": _l("%(percent)s %% against the median of comparable offers"),
    "far_above_median": _l("The price is %(percent)s %% above the median of comparable offers."),
    "above_budget": _l("above the budget frame"),
    "above_budget_warning": _l("The annual cost is above the case's budget frame."),
    "within_budget": _l("within the budget frame"),
    "annual_unknown": _l("annual cost unknown: no hours per week in the needs assessment"),
    "distance_unknown": _l("distance unknown"),
    "distance": _l("%(km)s km from the home municipality"),
    "approved": _l("approved by Socialtilsynet"),
    "not_approved_acute": _l("Not approved: in an acute case the offer may be used for at most three weeks."),
    "not_approved_warning": _l("Not approved: may only be used in an acute case, for at most three weeks."),
    "approval_pending": _l("approval pending"),
    "not_approved": _l("not approved"),
    "stale": _l("The offer's data has not been updated for %(n)s months."),
    "updated": _l("updated %(n)s months ago"),
    "no_vacancies": _l("No vacancies reported."),
}


class Text:
    """A reason or warning: the key of one of MESSAGES and its values, translated each time it is shown.

    Offers get several each, so this is a plain pair: a page translates each message once (see
    workflow/market/texts.py) and fills in the values per offer."""

    __slots__ = ("key", "values")

    def __init__(self, key: str, **values) -> None:
        self.key = key
        self.values = values

    def filled(self, message: str) -> str:
        """The message (MESSAGES[key] in some language) with the values filled in."""
        return message % self.values if self.values else message

    def __str__(self) -> str:
        return self.filled(str(MESSAGES[self.key]))

    def __repr__(self) -> str:
        return f"Text({self.key!r}, {self.values!r})"


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


@dataclass(slots=True)
class ScorePart:
    """Points for one part of the score, with the reasons (translated only when shown)."""

    key: str
    points: int
    reasons: list[Text]

    @property
    def reason(self) -> str:
        return "; ".join(str(text) for text in self.reasons)

    @property
    def label(self) -> str:
        return str(PART_LABELS[self.key])

    @property
    def max_points(self) -> int:
        return PART_MAX[self.key]


@dataclass(slots=True)
class ScanRow:
    offer_id: int
    offer_name: str
    supplier_name: str
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
    data_updated_on: date
    parts: list[ScorePart]
    warnings: list[Text]
    shortlisted: bool = False

    @property
    def score(self) -> int:
        return sum(part.points for part in self.parts)


def annual_cost(price: Decimal, unit: str, hours_per_week: int | None) -> Decimal | None:
    """What a year costs at this list price, or None when the hours are not known."""
    return pricing.yearly(price, unit, (hours_per_week or None) if unit == "time" else 1)


def _with_term(kind: str, code: str):
    """Offers that have the term, as a filter: driven by the index on (kind, code), not by a probe per offer."""
    return Offer.id.in_(select(OfferTerm.offer_id).where(OfferTerm.kind == kind, OfferTerm.code == code))


def _has_term(kind: str, code: str):
    """Whether the offer has the term, as a column (PostgreSQL hashes it once; SQLite probes the primary key)."""
    return exists().where(OfferTerm.offer_id == Offer.id, OfferTerm.kind == kind, OfferTerm.code == code)


def _medians(legal_basis: str) -> dict[str, Decimal]:
    """Median list price per price unit among all active offers under the same legal basis.

    The database ranks the prices of each unit and sends only the middle one or two."""
    ranked = select(
        Offer.price_unit, Offer.list_price,
        func.row_number().over(partition_by=Offer.price_unit, order_by=Offer.list_price).label("place"),
        func.count().over(partition_by=Offer.price_unit).label("offers"),
    ).where(Offer.active.is_(True), _with_term("legal_basis", legal_basis)).subquery()
    middle = db.session.execute(select(ranked.c.price_unit, ranked.c.list_price).where(
        ranked.c.place.in_([(ranked.c.offers + 1) // 2, ranked.c.offers // 2 + 1]))).all()
    by_unit: dict[str, list[Decimal]] = {}
    for unit, price in middle:
        by_unit.setdefault(unit, []).append(price)
    return {unit: Decimal(statistics.median(prices)).quantize(Decimal("0.01")) for unit, prices in by_unit.items()}


def _distances(home_municipality: str) -> dict[str, float]:
    """Km from the home municipality to each municipality; empty when the home one is unknown."""
    home = MUNICIPALITIES.get(home_municipality)
    return {code: distance_km(home, place) for code, place in MUNICIPALITIES.items()} if home else {}


@dataclass
class CaseNeeds:
    """What the scan needs to know of the case."""

    target_group: str
    home_municipality: str
    budget_frame: Decimal | None
    hours_per_week: int | None
    acute: bool
    wanted_services: list[str]


def _candidates(case: PurchaseCase, needs: CaseNeeds, filters: ScanFilters, distances: dict[str, float]):
    """The offers that pass the filters the database can apply, with what the fit part needs of their terms."""
    conditions = [Offer.active.is_(True), _with_term("legal_basis", filters.legal_basis)]
    if filters.target_group:
        conditions.append(_with_term("target_group", filters.target_group))
    conditions.extend(_with_term("service_type", code) for code in filters.service_types)
    if filters.vacancy_only:
        conditions.append(Offer.vacancies > 0)
    if filters.approved_only:
        conditions.append(Offer.approval_status == "approved")
    if filters.framework_only:
        conditions.append(Offer.framework_agreement.is_(True))
    if filters.max_km is not None:   # an unknown distance is never within the limit
        conditions.append(Offer.municipality.in_([code for code, km in distances.items() if km <= filters.max_km]))
    matched = sum((cast(_has_term("service_type", code), Integer) for code in sorted(set(needs.wanted_services))),
                  start=literal(0))
    return db.session.execute(
        select(Offer.id, Offer.name, Supplier.name.label("supplier_name"), Offer.municipality, Offer.list_price,
               Offer.price_unit, Offer.vacancies, Offer.places, Offer.approval_status, Offer.framework_agreement,
               Offer.data_updated_on,
               _has_term("target_group", needs.target_group).label("serves_group"),
               matched.label("matched_services"),
               exists().where(ShortlistEntry.case_id == case.id,
                              ShortlistEntry.offer_id == Offer.id).label("shortlisted"))
        .join(Supplier, Supplier.id == Offer.supplier_id).where(*conditions)).all()


def _fit(serves_group: bool, matched_services: int, needs: CaseNeeds) -> ScorePart:
    """`matched_services`: how many of the wanted service types the offer has."""
    points, reasons = 0, []
    if serves_group:
        points += 25
        reasons.append(Text("serves_group"))
    else:
        reasons.append(Text("lacks_group"))
    if needs.wanted_services:
        points += round(15 * matched_services / len(needs.wanted_services))
        reasons.append(Text("services_matched", matched=matched_services, wanted=len(needs.wanted_services)))
    else:
        points += 15
    return ScorePart("fit", points, reasons)


def _price(annual: Decimal | None, price: Decimal, median: Decimal | None, needs: CaseNeeds,
           warnings: list[Text]) -> ScorePart:
    points, reasons = 0, []
    if median:
        ratio = price / median
        points += max(0, min(15, round(15 * (Decimal("1.5") - ratio))))
        percent = int(((ratio - 1) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        reasons.append(Text("against_median", percent=f"{percent:+d}"))
        if ratio >= FAR_ABOVE_MEDIAN:
            warnings.append(Text("far_above_median", percent=percent))
    if annual is not None and needs.budget_frame:
        over = (annual - needs.budget_frame) / needs.budget_frame
        points += 10 if over <= 0 else max(0, round(10 * (1 - 2 * over)))
        if over > 0:
            reasons.append(Text("above_budget"))
            warnings.append(Text("above_budget_warning"))
        else:
            reasons.append(Text("within_budget"))
    elif annual is None:
        reasons.append(Text("annual_unknown"))
    return ScorePart("price", points, reasons)


def _distance(km: float | None) -> ScorePart:
    if km is None:
        return ScorePart("distance", 0, [Text("distance_unknown")])
    points = max(0, round(PART_MAX["distance"] * (1 - km / MAX_DISTANCE_FOR_POINTS)))
    return ScorePart("distance", points, [Text("distance", km=f"{km:.0f}")])


def _approval(status: str, acute: bool, warnings: list[Text]) -> ScorePart:
    if status == "approved":
        return ScorePart("approval", 10, [Text("approved")])
    warnings.append(Text("not_approved_acute" if acute else "not_approved_warning"))
    if status == "pending":
        return ScorePart("approval", 3, [Text("approval_pending")])
    return ScorePart("approval", 0, [Text("not_approved")])


def _freshness(updated: date, today: date, stale_after: int, cutoff: date, warnings: list[Text]) -> ScorePart:
    months = registry.months_between(updated, today)
    if updated <= cutoff:
        warnings.append(Text("stale", n=months))
        return ScorePart("freshness", 0, [Text("updated", n=months)])
    points = 10 if months < stale_after / 2 else 6
    return ScorePart("freshness", points, [Text("updated", n=months)])


class _Candidate(NamedTuple):
    """An offer that passed the filters, as ranked: its columns (as _candidates selects them) and its figures."""

    row: Row
    annual: Decimal | None
    km: float | None
    score: int


@dataclass
class _Scoring:
    """What scoring an offer needs besides the offer: the case's needs, the medians, today and the stale limit."""

    needs: CaseNeeds
    medians: dict[str, Decimal]
    today: date
    stale_after: int
    cutoff: date

    def parts(self, row: Row, annual: Decimal | None, km: float | None) -> tuple[list[ScorePart], list[Text]]:
        """The offer's score parts and warnings."""
        warnings: list[Text] = []
        if row.vacancies <= 0:
            warnings.append(Text("no_vacancies"))
        parts = [_fit(row.serves_group, row.matched_services, self.needs),
                 _price(annual, row.list_price, self.medians.get(row.price_unit), self.needs, warnings),
                 _distance(km), _approval(row.approval_status, self.needs.acute, warnings),
                 _freshness(row.data_updated_on, self.today, self.stale_after, self.cutoff, warnings)]
        return parts, warnings

    def scan_row(self, candidate: _Candidate) -> ScanRow:
        row = candidate.row
        parts, warnings = self.parts(row, candidate.annual, candidate.km)
        place = MUNICIPALITIES.get(row.municipality)
        return ScanRow(
            offer_id=row.id, offer_name=row.name, supplier_name=row.supplier_name,
            municipality=place.name if place else row.municipality, distance=candidate.km,
            list_price=row.list_price, price_unit=row.price_unit, annual_cost=candidate.annual,
            median_price=self.medians.get(row.price_unit), vacancies=row.vacancies, places=row.places,
            approval_status=row.approval_status, framework=row.framework_agreement,
            data_updated_on=row.data_updated_on, parts=parts, warnings=warnings, shortlisted=bool(row.shortlisted))


SORT_KEYS = {
    "score": lambda c: (-c.score, c.annual or c.row.list_price, c.row.id),
    "price": lambda c: (c.annual is None, c.annual or c.row.list_price, c.row.id),
    "distance": lambda c: (c.km is None, c.km or 0, c.row.id),
}


@dataclass
class ScanResult:
    rows: list[ScanRow]   # the best offers, ranked (all of them unless fewer were asked for)
    total: int            # how many offers passed the filters


def scan(case: PurchaseCase, needs: CaseNeeds, filters: ScanFilters, today: date,
         best: int | None = None) -> ScanResult:
    """The offers that pass the filters, scored and ranked, with warnings; the reasons and warnings only for the
    `best` shown (all when None).

    Every offer that passes is scored to rank it, but keeps only its figures until it is known to be shown:
    a page of hundreds of offers then leaves a hundred rows behind, not thousands of parts and texts for
    Python's garbage collector to go through (its full passes were the page's slowest requests)."""
    distances = _distances(needs.home_municipality)
    rows = _candidates(case, needs, filters, distances)
    scoring = _Scoring(needs, _medians(filters.legal_basis), today, settings.get("offer_stale_months"),
                       registry.stale_cutoff(today))
    ranked = []
    for row in rows:
        annual = annual_cost(row.list_price, row.price_unit, needs.hours_per_week)
        if filters.max_annual is not None and (annual is None or annual > filters.max_annual):
            continue
        km = distances.get(row.municipality)
        parts, _warnings = scoring.parts(row, annual, km)
        ranked.append(_Candidate(row, annual, km, sum(part.points for part in parts)))
    ranked.sort(key=SORT_KEYS[filters.sort if filters.sort in SORTS else "score"])
    return ScanResult([scoring.scan_row(candidate) for candidate in ranked[:best]], len(ranked))


def run_scan(case: PurchaseCase, needs: CaseNeeds, filters: ScanFilters, today: date) -> list[ScanRow]:
    """All the offers that pass the filters, scored and ranked, with warnings."""
    return scan(case, needs, filters, today).rows
