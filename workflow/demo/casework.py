"""Casework the demo does the way staff would: a case's input, its needs assessment, and the walk
through market scan, dialogue, terms and approval (stages 1–5; a placement is bought the same way)."""
from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from workflow.demo.people import FIRST_NAMES, LAST_NAMES
from workflow.extensions import db
from workflow.legal_basis import LEGAL_BASES
from workflow.models import Offer, PurchaseCase, Role, StageVisit, User
from workflow.process import PROCESS_STAGES, Event, Stage
from workflow.services import cases, contracts, needs, transitions
from workflow.vum import THEMES

ADULT_GROUPS = ("intellectual_disability", "autism", "acquired_brain_injury", "physical_disability",
                "mental_illness", "substance_abuse", "homelessness")
CHILD_GROUPS = ("children_social", "children_disability", "behavioural", "autism")
GOALS = (
    ("develop", "Kan selv handle ind en gang om ugen", "Registreres ved ugentlig status med kontaktperson"),
    ("develop", "Deltager i et fast aktivitetstilbud to dage om ugen", "Fremmøde registreres af tilbuddet"),
    ("maintain", "Fastholder egen bolig og betaler husleje til tiden", "Ingen restancer i opfølgningsperioden"),
    ("maintain", "Tager selv sin medicin efter plan", "Medicinskema gennemgås ved hver opfølgning"),
    ("limit_loss", "Bevarer evnen til at klæde sig selv på", "Vurderes ved VUM-tema Egenomsorg"),
    ("develop", "Går i skole mindst fire dage om ugen", "Fravær fra skolens system"),
    ("develop", "Har kontakt til sin familie hver anden weekend", "Samvær registreres af anbringelsesstedet"),
    ("limit_loss", "Kan fortsat kommunikere sine behov med piktogrammer", "Observation ved opfølgning"),
)
GOAL_TEXT = " ".join(text for goal in GOALS for text in goal[1:]).lower()
NARRATIVES = ("Har brug for guidning og struktur i hverdagen.", "Klarer det meste selv med støtte.",
              "Kræver hjælp fra personale døgnet rundt.", "Har svært ved at overskue nye situationer.",
              "Fungerer godt i kendte rammer.")
STAGE_ORDER = list(PROCESS_STAGES)
NEGOTIATED = ("0.92", "0.95", "0.97", "0.98", "1.00", "1.00", "1.03")   # reply price against the list price
LARGEST_PLACEMENT = Decimal("1900000")   # a placement the demo managers may approve (limit 2 m)
CONTRACT_TERMS = {  # legal basis: expected duration and notice, in months
    "SEL-108": (60, 3), "SEL-107": (24, 3), "SEL-85": (12, 1), "SEL-104": (24, 1), "SEL-103": (24, 1),
    "BL-32": (12, 1)}


def _citizen_name(rng: random.Random) -> str:
    """A name with no part inside the demo's goal texts: the requirement's anonymity check matches
    parts of words, so "Ole" would be found in "skole"."""
    while True:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if not any(part in GOAL_TEXT for part in name.lower().split()):
            return name


def _case_input(rng: random.Random, child: bool, code: str | None = None):
    bases = [b for b in LEGAL_BASES if b.for_children == child]
    basis = next(b for b in bases if b.code == code) if code else rng.choice(bases)
    budget = {"SEL-108": 1_100_000, "SEL-107": 900_000, "SEL-85": 250_000, "SEL-104": 180_000,
              "SEL-103": 150_000, "SEL-110": 400_000, "BL-32": 300_000}.get(basis.code, 1_200_000)
    budget = Decimal(int(budget * rng.uniform(0.8, 1.3)) // 1000 * 1000)
    group = rng.choice(CHILD_GROUPS if child else ADULT_GROUPS)
    return basis, group, budget


def _work_until(case: PurchaseCase, owner: User, target: Stage, rng: random.Random,
                today: date | None = None) -> None:
    """Walk a demo case through the stages that have screens, the way staff would; jump the rest.

    A placement (target: delivery) is bought for real on `today`: only approved offers with a
    vacancy, at a price a demo manager may approve.
    """
    from workflow.services import dialogue, market_scan, shortlist

    today = today or date.today()
    reached = STAGE_ORDER.index(target)
    if reached < STAGE_ORDER.index(Stage.MARKET_SCAN) or (target == Stage.MARKET_SCAN and rng.random() < 0.5):
        return
    # Shortlist from the real market scan: three of its best, with their scores.
    assessment = cases.current_assessment(case)
    needs = market_scan.CaseNeeds(case.target_group, case.citizen.home_municipality, case.budget_frame,
                                  assessment.required_hours_per_week, case.acute, [])
    filters = market_scan.ScanFilters(legal_basis=case.legal_basis)
    if target == Stage.DELIVERY:
        filters = market_scan.ScanFilters(legal_basis=case.legal_basis, approved_only=True, vacancy_only=True,
                                          max_annual=LARGEST_PLACEMENT)
    ranked = market_scan.run_scan(case, needs, filters, today)
    for row in rng.sample(ranked[:6], min(3, len(ranked))):
        shortlist.add(case, db.session.get(Offer, row.offer_id), owner,
                      rng.choice(("Tæt på familien", "God erfaring fra tidligere sager", "Har ledig plads nu", "")),
                      score=row.score)
    if reached < STAGE_ORDER.index(Stage.DIALOGUE):
        return
    transitions.take_step(case, Event.START_DIALOGUE, owner)
    buyer = case.procurement
    requirement = dialogue.draft_requirement(case, today)
    dialogue.save_requirement(
        case, buyer, None, age_band_text=requirement.age_band, functional_summary=requirement.functional_summary,
        support_need=requirement.support_need, goals=requirement.goals, services=requirement.services,
        hours_per_week=requirement.hours_per_week, desired_start=requirement.desired_start,
        special_conditions=requirement.special_conditions or "", today=today)
    asked = dialogue.send_inquiries(case, buyer, [e.offer_id for e in shortlist.entries(case)],
                                    dialogue.default_deadline(today), sealed=False, today=today)
    for inquiry in asked[:2] if target == Stage.DIALOGUE else asked:
        offer = inquiry.offer
        quantity = Decimal(cases.current_assessment(case).required_hours_per_week or 1)
        price = (offer.list_price * Decimal(rng.choice(NEGOTIATED))).quantize(Decimal("0.01"))
        dialogue.submit_reply(inquiry, dialogue.ReplyInput(
            can_deliver=True, earliest_start=case.desired_start,
            lines=[dialogue.PriceLineInput("Grundtakst", offer.price_unit, price,
                                           quantity if offer.price_unit == "time" else Decimal(1))],
            contact_name=offer.supplier.contact_name or "", contact_email=offer.supplier.contact_email or ""),
            today)
    if reached < STAGE_ORDER.index(Stage.TERMS):
        return
    rows = [row for row in dialogue.compare(case, today) if row.passes]
    if not rows:
        _place_in_stage(case, target)
        return
    best = max(rows, key=lambda row: row.score)
    justification = "" if not dialogue.needs_justification(rows, best.inquiry.id) else (
        "Bedste samlede vurdering; borgeren ønsker at bo tæt på familien.")
    dialogue.choose(case, best.inquiry, buyer, justification, today)
    _contract_until(case, buyer, target, rng, today)
    _place_in_stage(case, target)


def _contract_until(case: PurchaseCase, buyer: User, target: Stage, rng: random.Random, today: date) -> None:
    """Draft, submit, review and approve the terms as far as the demo case's stage needs."""
    reached = STAGE_ORDER.index(target)
    contract = contracts.draft_from_choice(case, buyer, today)
    if reached < STAGE_ORDER.index(Stage.APPROVAL):
        return
    if target == Stage.DELIVERY:  # a placement: the expected duration and notice its legal basis usually has
        months, notice = CONTRACT_TERMS.get(case.legal_basis, (36, 3))
        contracts.save_terms(case, contract, buyer, None,
                             _terms_input(contract, duration_months=months, notice_months=notice))
    contracts.submit(case, contract, buyer)
    if case.economy_id is None:
        case.economy_id = db.session.scalar(select(User.id).where(User.role == Role.ECONOMY))
    if target == Stage.APPROVAL and rng.random() < 0.5:
        return
    contracts.review(case, contract, case.economy)
    if reached < STAGE_ORDER.index(Stage.DELIVERY):
        return
    approver = _approver(case, contract)
    if approver is not None:
        contracts.approve(case, contract, approver)


def _approver(case: PurchaseCase, contract) -> User | None:
    """The unit's manager with the lowest approval limit that covers the annual cost."""
    return db.session.scalars(select(User).where(
        User.role == Role.MANAGER, User.unit_id == case.unit_id, User.approval_limit >= contract.annual_cost)
        .order_by(User.approval_limit)).first()


def _terms_input(contract, **changes) -> contracts.TermsInput:
    """The terms of a contract version as the terms form would send them, with some changed."""
    values = {f.name: getattr(contract, f.name) for f in dataclasses.fields(contracts.TermsInput) if f.name != "lines"}
    values["lines"] = [contracts.LineInput(line.description, line.unit, line.unit_price, line.quantity,
                                           line.supplement) for line in contract.lines]
    values.update(changes)
    return contracts.TermsInput(**values)


def _assess(case: PurchaseCase, owner: User, rng: random.Random, complete: bool, child: bool,
            today: date | None = None, hours: int | None = None, goal_pool=GOALS) -> None:
    assessment = cases.current_assessment(case)
    themes = {code: (rng.randint(1, 4), rng.choice(NARRATIVES)) for code, _label, _group in THEMES
              if rng.random() < 0.8 or not complete}
    goals = [needs.GoalInput(*goal) for goal in rng.sample(goal_pool, rng.randint(1, 3))]
    decided = (today or date.today()) - timedelta(days=rng.randint(1, 30))
    needs.save_assessment(case, assessment, version=None, actor=owner, data=needs.AssessmentInput(
        support_need=rng.choice(("moderate", "high", "complete")), expected_duration=rng.choice(
            ("2 år", "Varigt, revurderes årligt", "6 måneder")),
        wishes="Ønsker at bo tæt på sin familie." if rng.random() < 0.6 else "",
        special_conditions="Har brug for faste, genkendelige rammer." if rng.random() < 0.5 else "",
        required_hours_per_week=hours if hours is not None else (
            rng.choice((None, 5, 8, 12)) if case.legal_basis == "SEL-85" else None),
        consent_to_contact_suppliers=complete, consent_date=decided if complete else None,
        child_investigation_date=decided - timedelta(days=20) if child else None,
        decision_date=decided if complete else None, decided_by=owner if complete else None,
        themes=themes if complete else {}, goals=goals if complete else []))


def _place_in_stage(case: PurchaseCase, target: Stage) -> None:
    """Move a demo case on to a later stage directly, as if its earlier stages had been worked."""
    if case.stage == target:
        return
    now = datetime.now(UTC)
    db.session.execute(db.update(StageVisit).where(StageVisit.case_id == case.id, StageVisit.left_at.is_(None))
                       .values(left_at=now))
    db.session.add(StageVisit(case_id=case.id, stage=target, entered_at=now))
    case.stage = target
    case.stage_entered_at = now
