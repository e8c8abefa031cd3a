"""Demo data that looks like a real municipality's: staff, citizens and purchase cases.

Deterministic (seeded), so that screenshots and tests see the same data every time.
`bulk_cases()` writes many cases fast for benchmarks, with plain inserts.
"""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from workflow.extensions import db
from workflow.legal_basis import LEGAL_BASES
from workflow.models import (
    Citizen,
    Goal,
    NeedsAssessment,
    Offer,
    PurchaseCase,
    Role,
    StageVisit,
    ThemeAssessment,
    User,
)
from workflow.municipalities import MUNICIPALITIES
from workflow.process import PROCESS_STAGES, Event, Stage
from workflow.services import cases, needs, transitions, users
from workflow.vum import THEMES

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo login, refused on real data
DEMO_UNITS = ("Voksenhandicap", "Børn og Familie", "Indkøb", "Økonomi", "Digitalisering")
DEMO_USERS = (
    # login, full name, role, unit, approval limit
    ("caseworker", "Camilla Sagsbehandler", Role.CASEWORKER, "Voksenhandicap", None),
    ("procurement", "Peter Indkøber", Role.PROCUREMENT, "Indkøb", None),
    ("economy", "Eva Økonom", Role.ECONOMY, "Økonomi", None),
    ("manager", "Mette Leder", Role.MANAGER, "Voksenhandicap", "2000000.00"),
    ("admin", "Anders Administrator", Role.ADMIN, "Digitalisering", None),
    ("caseworker2", "Kasper Rådgiver", Role.CASEWORKER, "Voksenhandicap", None),
    ("boernesag", "Birgitte Børnesagsbehandler", Role.CASEWORKER, "Børn og Familie", None),
    ("teamleder", "Torben Teamleder", Role.MANAGER, "Voksenhandicap", "500000.00"),
    ("boerneleder", "Bodil Afdelingsleder", Role.MANAGER, "Børn og Familie", "2000000.00"),
    ("procurement2", "Ida Indkøbskonsulent", Role.PROCUREMENT, "Indkøb", None),
)
MAIN_LOGINS = ("caseworker", "procurement", "economy", "manager", "admin")

FIRST_NAMES = ("Anna", "Mads", "Sofie", "Frederik", "Ida", "Lucas", "Emma", "Oliver", "Freja", "William", "Clara",
               "Noah", "Karen", "Jens", "Lone", "Henrik", "Mette", "Søren", "Birthe", "Niels", "Aya", "Yusuf",
               "Malthe", "Astrid", "Bjørn", "Signe", "Ahmad", "Line", "Ole", "Grethe")
LAST_NAMES = ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
              "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Poulsen",
              "Johansen", "Møller", "Mortensen", "Østergaard", "Ali", "Holm", "Lund", "Bach")
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
NARRATIVES = ("Har brug for guidning og struktur i hverdagen.", "Klarer det meste selv med støtte.",
              "Kræver hjælp fra personale døgnet rundt.", "Har svært ved at overskue nye situationer.",
              "Fungerer godt i kendte rammer.")


def seed_staff() -> dict[str, User]:
    units = {name: users.create_unit(name) for name in DEMO_UNITS}
    people = {}
    for login, full_name, role, unit, limit in DEMO_USERS:
        people[login] = users.create_user(
            login=login, full_name=full_name, email=f"{login}@socialkob.example", role=role, unit=units[unit],
            password=DEMO_PASSWORD, approval_limit=Decimal(limit) if limit else None)
    return people


class CprFactory:
    """Valid, unique CPR numbers (the date part is right; modulus 11 is not applied)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def adult(self) -> str:
        return self._make(self.rng.randint(1945, 2004))

    def child(self) -> str:
        return self._make(self.rng.randint(2009, 2022))

    def _make(self, year: int) -> str:
        while True:
            born = date(year, 1, 1) + timedelta(days=self.rng.randint(0, 364))
            seventh = self.rng.randint(0, 3) if year < 2000 else 4
            number = f"{born:%d%m}{year % 100:02d}{seventh}{self.rng.randint(0, 999):03d}"
            if number not in self.used:
                self.used.add(number)
                return number


def _case_input(rng: random.Random, child: bool):
    bases = [b for b in LEGAL_BASES if b.for_children == child]
    basis = rng.choice(bases)
    budget = {"SEL-108": 1_100_000, "SEL-107": 900_000, "SEL-85": 250_000, "SEL-104": 180_000,
              "SEL-103": 150_000, "SEL-110": 400_000, "BL-32": 300_000}.get(basis.code, 1_200_000)
    budget = Decimal(int(budget * rng.uniform(0.8, 1.3)) // 1000 * 1000)
    group = rng.choice(CHILD_GROUPS if child else ADULT_GROUPS)
    return basis, group, budget


def seed_cases(people: dict[str, User], count: int = 36, rng: random.Random | None = None) -> list[PurchaseCase]:
    """Cases spread over the stages, opened and assessed through the services like real ones."""
    rng = rng or random.Random(2026)
    cprs = CprFactory(rng)
    opened = []
    stages = list(PROCESS_STAGES) + [Stage.CANCELLED]
    for index in range(count):
        child = index % 4 == 3
        owner = people["boernesag"] if child else people[rng.choice(("caseworker", "caseworker", "caseworker2"))]
        basis, group, budget = _case_input(rng, child)
        case = cases.open_case(
            owner, cpr_text=cprs.child() if child else cprs.adult(),
            citizen_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            home_municipality=rng.choice(MUNICIPALITIES).code, legal_basis=basis.code, target_group=group,
            acute=rng.random() < 0.12, desired_start=date.today() + timedelta(days=rng.randint(14, 120)),
            budget_frame=budget, procurement=people[rng.choice(("procurement", "procurement2"))],
            economy=people["economy"] if rng.random() < 0.7 else None)
        target = stages[index % len(stages)]
        complete = target != Stage.NEEDS or rng.random() < 0.5
        _assess(case, owner, rng, complete=complete, child=child)
        if target != Stage.NEEDS:
            if target == Stage.CANCELLED:
                transitions.take_step(case, Event.CANCEL, owner, reason="Borgeren har fået tilbud i egen kommune")
            else:
                transitions.take_step(case, Event.COMPLETE_ASSESSMENT, owner)
                _work_until(case, owner, target, rng)
        opened.append(case)
    return opened


STAGE_ORDER = list(PROCESS_STAGES)


def _work_until(case: PurchaseCase, owner: User, target: Stage, rng: random.Random) -> None:
    """Walk a demo case through the stages that have screens, the way staff would; jump the rest."""
    from workflow.services import dialogue, market_scan, shortlist

    reached = STAGE_ORDER.index(target)
    if reached < STAGE_ORDER.index(Stage.MARKET_SCAN) or (target == Stage.MARKET_SCAN and rng.random() < 0.5):
        return
    # Shortlist from the real market scan: three of its best, with their scores.
    assessment = cases.current_assessment(case)
    needs = market_scan.CaseNeeds(case.target_group, case.citizen.home_municipality, case.budget_frame,
                                  assessment.required_hours_per_week, case.acute, [])
    ranked = market_scan.run_scan(case, needs, market_scan.ScanFilters(legal_basis=case.legal_basis), date.today())
    for row in rng.sample(ranked[:6], min(3, len(ranked))):
        shortlist.add(case, db.session.get(Offer, row.offer_id), owner,
                      rng.choice(("Tæt på familien", "God erfaring fra tidligere sager", "Har ledig plads nu", "")),
                      score=row.score)
    if reached < STAGE_ORDER.index(Stage.DIALOGUE):
        return
    transitions.take_step(case, Event.START_DIALOGUE, owner)
    buyer = case.procurement
    today = date.today()
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
        price = (offer.list_price * Decimal(rng.choice(("0.92", "0.97", "1.00", "1.04")))).quantize(Decimal("0.01"))
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
    from workflow.services import contracts

    reached = STAGE_ORDER.index(target)
    contract = contracts.draft_from_choice(case, buyer, today)
    if reached < STAGE_ORDER.index(Stage.APPROVAL):
        return
    contracts.submit(case, contract, buyer)
    if case.economy_id is None:
        case.economy_id = db.session.scalar(select(User.id).where(User.role == Role.ECONOMY))
    if target == Stage.APPROVAL and rng.random() < 0.5:
        return
    contracts.review(case, contract, case.economy)
    if reached < STAGE_ORDER.index(Stage.DELIVERY):
        return
    approver = db.session.scalars(select(User).where(
        User.role == Role.MANAGER, User.unit_id == case.unit_id, User.approval_limit >= contract.annual_cost)
        .order_by(User.approval_limit)).first()
    if approver is not None:
        contracts.approve(case, contract, approver)


def _assess(case: PurchaseCase, owner: User, rng: random.Random, complete: bool, child: bool) -> None:
    assessment = cases.current_assessment(case)
    themes = {code: (rng.randint(1, 4), rng.choice(NARRATIVES)) for code, _label, _group in THEMES
              if rng.random() < 0.8 or not complete}
    goals = [needs.GoalInput(*goal) for goal in rng.sample(GOALS, rng.randint(1, 3))]
    decided = date.today() - timedelta(days=rng.randint(1, 30))
    needs.save_assessment(case, assessment, version=None, actor=owner, data=needs.AssessmentInput(
        support_need=rng.choice(("moderate", "high", "complete")), expected_duration=rng.choice(
            ("2 år", "Varigt, revurderes årligt", "6 måneder")),
        wishes="Ønsker at bo tæt på sin familie." if rng.random() < 0.6 else "",
        special_conditions="Har brug for faste, genkendelige rammer." if rng.random() < 0.5 else "",
        required_hours_per_week=rng.choice((None, 5, 8, 12)) if case.legal_basis == "SEL-85" else None,
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


def bulk_cases(count: int, seed: int = 7, batch: int = 5000) -> int:
    """Insert many cases with plain multi-row inserts (benchmarks); returns how many were written."""
    rng = random.Random(seed)
    cprs = CprFactory(rng)
    existing = set(db.session.scalars(select(Citizen.cpr)))
    cprs.used |= existing
    caseworkers = db.session.execute(
        select(User.id, User.unit_id).where(User.role == Role.CASEWORKER, User.active.is_(True))).all()
    procurement = db.session.scalars(select(User.id).where(User.role == Role.PROCUREMENT)).all()
    economy = db.session.scalars(select(User.id).where(User.role == Role.ECONOMY)).all()
    if not caseworkers:
        raise RuntimeError("no caseworkers to own the cases")
    next_citizen = (db.session.scalar(select(db.func.max(Citizen.id))) or 0) + 1
    next_case = (db.session.scalar(select(db.func.max(PurchaseCase.id))) or 0) + 1
    next_assessment = (db.session.scalar(select(db.func.max(NeedsAssessment.id))) or 0) + 1
    stages = [str(stage) for stage in (*PROCESS_STAGES, Stage.CLOSED, Stage.CANCELLED)]
    municipalities = [m.code for m in MUNICIPALITIES]
    theme_codes = [code for code, _label, _group in THEMES]
    now = datetime.now(UTC)
    written = 0
    while written < count:
        size = min(batch, count - written)
        citizens, purchases, assessments, themes, goals, visits = [], [], [], [], [], []
        for _ in range(size):
            child = rng.random() < 0.25
            basis, group, budget = _case_input(rng, child)
            owner_id, unit_id = rng.choice(caseworkers)
            created = now - timedelta(days=rng.randint(0, 5 * 365), minutes=rng.randint(0, 1440))
            stage = rng.choice(stages)
            citizens.append({"id": next_citizen, "cpr": cprs.child() if child else cprs.adult(),
                             "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                             "home_municipality": rng.choice(municipalities)})
            purchases.append({
                "id": next_case, "number": f"SK-{created.year}-{next_case:05d}", "citizen_id": next_citizen,
                "legal_basis": basis.code, "target_group": group, "unit_id": unit_id, "owner_id": owner_id,
                "procurement_id": rng.choice(procurement) if procurement else None,
                "economy_id": rng.choice(economy) if economy and rng.random() < 0.7 else None,
                "acute": rng.random() < 0.1, "desired_start": (created + timedelta(days=60)).date(),
                "budget_frame": int(budget * 100), "stage": stage, "stage_entered_at": created,
                "created_at": created, "changed_at": created + timedelta(days=rng.randint(0, 30)), "version": 1,
            })
            assessments.append({"id": next_assessment, "case_id": next_case, "sequence": 1, "current": True,
                                "support_need": "high", "consent_to_contact_suppliers": True,
                                "decision_date": created.date(), "decided_by_id": owner_id, "created_at": created,
                                "version": 1})
            for code in rng.sample(theme_codes, 4):
                themes.append({"assessment_id": next_assessment, "theme": code, "level": rng.randint(1, 4),
                               "narrative": rng.choice(NARRATIVES)})
            for position, (goal_type, text, measure) in enumerate(rng.sample(GOALS, 2)):
                goals.append({"assessment_id": next_assessment, "position": position, "goal_type": goal_type,
                              "text": text, "measure": measure})
            visits.append({"case_id": next_case, "stage": stage, "entered_at": created})
            next_citizen, next_case, next_assessment = next_citizen + 1, next_case + 1, next_assessment + 1
        for model, rows in ((Citizen, citizens), (PurchaseCase, purchases), (NeedsAssessment, assessments),
                            (ThemeAssessment, themes), (Goal, goals), (StageVisit, visits)):
            db.session.execute(insert(model.__table__), rows)
        written += size
    _reset_sequences()
    return written


def _reset_sequences() -> None:
    """After inserts with explicit ids, PostgreSQL's sequences must move past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("citizens", "purchase_cases", "needs_assessments"):
        db.session.execute(db.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"  # noqa: S608 - fixed names
        ))



SUPPLIER_WORDS = ("Bo- og Aktivitetscenter", "Opholdssted", "Bofællesskabet", "Botilbuddet",
                  "Socialpsykiatrisk Center", "Specialbørnehjemmet", "Dagtilbuddet", "Støttecentret",
                  "Familiecentret", "Behandlingshjemmet")
PLACE_NAMES = ("Solsikken", "Egebakken", "Lærkereden", "Skovbrynet", "Fjordglimt", "Havblik", "Kastanjehuset",
               "Engholm", "Bakkely", "Lindegården", "Granly", "Mosegården", "Åbrinken", "Nordlyset", "Strandvejen",
               "Bøgely", "Tusindfryd", "Klitgården", "Vesterled", "Østerhøj", "Kildegården", "Hyldebærhuset")
OFFER_PROFILES = (
    # legal bases, typical target groups, service types, unit, price range
    (("SEL-108",), ("intellectual_disability", "autism", "acquired_brain_injury", "physical_disability"),
     ("residence", "socio_educational_support", "personal_help", "practical_help"), "døgn", (2200, 3300)),
    (("SEL-107",), ("mental_illness", "acquired_brain_injury", "substance_abuse", "autism"),
     ("residence", "socio_educational_support", "treatment", "assessment"), "døgn", (1900, 3000)),
    (("SEL-107", "SEL-108"), ("mental_illness", "intellectual_disability", "autism"),
     ("residence", "socio_educational_support", "training"), "døgn", (2100, 3100)),
    (("SEL-85",), ("mental_illness", "autism", "intellectual_disability", "homelessness"),
     ("socio_educational_support", "counselling", "practical_help"), "time", (380, 520)),
    (("SEL-103", "SEL-104"), ("intellectual_disability", "acquired_brain_injury", "mental_illness"),
     ("sheltered_employment", "activity", "leisure"), "måned", (9000, 16000)),
    (("SEL-110",), ("homelessness", "substance_abuse"), ("residence", "counselling"), "døgn", (700, 1300)),
    (("BL-43", "BL-46", "BL-47"), ("children_social", "behavioural", "children_disability"),
     ("residence", "teaching", "treatment"), "døgn", (2800, 4200)),
    (("BL-32",), ("children_social", "behavioural", "autism"),
     ("counselling", "treatment", "socio_educational_support"), "time", (450, 700)),
)
FRAMEWORKS = ("Rammeaftale Botilbud Region Midt 2025", "KKR Hovedstaden styringsaftale 2026", "SKI socialområdet 2024")


def _supplier_input(rng: random.Random, index: int):
    from workflow.services.registry import SupplierInput

    kind = rng.choices(("privat", "selvejende", "kommunal", "regional"), (45, 25, 20, 10))[0]
    name = f"{rng.choice(SUPPLIER_WORDS)} {rng.choice(PLACE_NAMES)}"
    if kind == "privat":
        name += rng.choice((" ApS", " A/S", " I/S"))
    return SupplierInput(cvr=f"{30000000 + index * 7919 % 60000000:08d}", name=name, supplier_type=kind,
                         ean=f"579{rng.randint(10**9, 10**10 - 1)}",
                         address=f"{rng.choice(PLACE_NAMES)}vej {index % 90 + 1}",
                         contact_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                         contact_email=f"kontakt{index}@leverandoer.example",
                         contact_phone=f"+45 {rng.randint(20000000, 99999999)}")


def _offer_input(rng: random.Random, index: int, today: date):
    from workflow.services.registry import OfferInput

    bases, groups, services, unit, (low, high) = rng.choice(OFFER_PROFILES)
    price = Decimal(rng.randint(low, high))
    if rng.random() < 0.07:
        price = (price * Decimal("1.6")).quantize(Decimal(1))  # a few far above the market
    places = rng.choice((4, 6, 8, 12, 16, 24, 40)) if unit != "time" else rng.choice((20, 40, 80))
    status = rng.choices(("approved", "pending", "not_approved"), (85, 10, 5))[0]
    updated = today - timedelta(days=int(rng.expovariate(1 / 200)))
    framework = rng.random() < 0.2
    return OfferInput(
        key=f"TP-{100000 + index}", name=f"{rng.choice(SUPPLIER_WORDS)} {rng.choice(PLACE_NAMES)}",
        municipality=rng.choice(MUNICIPALITIES).code, list_price=price, price_unit=unit,
        price_effective_from=date(today.year, 1, 1), approval_status=status, data_updated_on=updated,
        address=f"{rng.choice(PLACE_NAMES)}vej {rng.randint(1, 120)}", legal_bases=list(bases),
        target_groups=rng.sample(groups, rng.randint(1, len(groups))),
        service_types=rng.sample(services, rng.randint(max(1, len(services) - 2), len(services))),
        places=places, vacancies=rng.randint(0, max(1, places // 4)),
        approved_on=updated - timedelta(days=rng.randint(30, 900)) if status == "approved" else None,
        framework_agreement=framework, framework_name=rng.choice(FRAMEWORKS) if framework else "",
        quality_note=rng.choice(("", "", "Tilsynsrapport 2025 uden påbud.", "Skærpet tilsyn i 2024, nu ophævet.")))


def seed_registry(count: int = 400, rng: random.Random | None = None) -> list:
    """A registry across the country: suppliers with one to five offers, varied prices and data ages."""
    from workflow.services import registry

    rng = rng or random.Random(4)
    today = date.today()
    offers, index = [], 0
    while len(offers) < count:
        supplier = registry.create_supplier(_supplier_input(rng, len(offers)))
        for _ in range(rng.randint(1, 5)):
            if len(offers) >= count:
                break
            offers.append(registry.create_offer(supplier, _offer_input(rng, index, today), today))
            index += 1
    return offers
