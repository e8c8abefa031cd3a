"""Demo data that looks like a real municipality's: staff, citizens and purchase cases.

Deterministic (seeded), so that screenshots and tests see the same data every time. The
placements (stages 6–8) are bought, started and followed up through the services, dated
backwards: the services take `today` as an argument, so the demo passes the day each step
happened (approvals and the audit trail still carry the real time of seeding).
`bulk_cases()` writes many cases fast for benchmarks, with plain inserts.
"""
from __future__ import annotations

import dataclasses
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from workflow import clock, pricing
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
from workflow.services import cases, contracts, followup, needs, transitions, users
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
GOAL_TEXT = " ".join(text for goal in GOALS for text in goal[1:]).lower()
NARRATIVES = ("Har brug for guidning og struktur i hverdagen.", "Klarer det meste selv med støtte.",
              "Kræver hjælp fra personale døgnet rundt.", "Har svært ved at overskue nye situationer.",
              "Fungerer godt i kendte rammer.")


def _citizen_name(rng: random.Random) -> str:
    """A name with no part inside the demo's goal texts: the requirement's anonymity check matches
    parts of words, so "Ole" would be found in "skole"."""
    while True:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if not any(part in GOAL_TEXT for part in name.lower().split()):
            return name


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

    def child(self, born_from: int = 2009, born_to: int = 2022) -> str:
        return self._make(self.rng.randint(born_from, born_to))

    def _make(self, year: int) -> str:
        while True:
            born = date(year, 1, 1) + timedelta(days=self.rng.randint(0, 364))
            seventh = self.rng.randint(0, 3) if year < 2000 else 4
            number = f"{born:%d%m}{year % 100:02d}{seventh}{self.rng.randint(0, 999):03d}"
            if number not in self.used:
                self.used.add(number)
                return number


def _case_input(rng: random.Random, child: bool, code: str | None = None):
    bases = [b for b in LEGAL_BASES if b.for_children == child]
    basis = next(b for b in bases if b.code == code) if code else rng.choice(bases)
    budget = {"SEL-108": 1_100_000, "SEL-107": 900_000, "SEL-85": 250_000, "SEL-104": 180_000,
              "SEL-103": 150_000, "SEL-110": 400_000, "BL-32": 300_000}.get(basis.code, 1_200_000)
    budget = Decimal(int(budget * rng.uniform(0.8, 1.3)) // 1000 * 1000)
    group = rng.choice(CHILD_GROUPS if child else ADULT_GROUPS)
    return basis, group, budget


def seed_cases(people: dict[str, User], count: int = 36, rng: random.Random | None = None) -> list[PurchaseCase]:
    """Cases in every stage, worked through the services like real ones.

    Two thirds of `count` are spread over stages 1–5 and cancelled, as staff left them. Then the
    placements (stages 6–8, see `seed_placements`): the full mix when `count` is 36 or more, one
    of each kind for a smaller demo (the browser tests').
    """
    rng = rng or random.Random(2026)
    cprs = CprFactory(rng)
    opened = []
    stages = list(PROCESS_STAGES) + [Stage.CANCELLED]
    for index in range(count):
        target = stages[index % len(stages)]
        if target in PLACEMENT_STAGES:
            continue
        child = index % 4 == 3
        owner = people["boernesag"] if child else people[rng.choice(("caseworker", "caseworker", "caseworker2"))]
        basis, group, budget = _case_input(rng, child)
        case = cases.open_case(
            owner, cpr_text=cprs.child() if child else cprs.adult(),
            citizen_name=_citizen_name(rng),
            home_municipality=rng.choice(MUNICIPALITIES).code, legal_basis=basis.code, target_group=group,
            acute=rng.random() < 0.12, desired_start=date.today() + timedelta(days=rng.randint(14, 120)),
            budget_frame=budget, procurement=people[rng.choice(("procurement", "procurement2"))],
            economy=people["economy"] if rng.random() < 0.7 else None)
        complete = target != Stage.NEEDS or rng.random() < 0.5
        _assess(case, owner, rng, complete=complete, child=child)
        if target != Stage.NEEDS:
            if target == Stage.CANCELLED:
                transitions.take_step(case, Event.CANCEL, owner, reason="Borgeren har fået tilbud i egen kommune")
            else:
                transitions.take_step(case, Event.COMPLETE_ASSESSMENT, owner)
                _work_until(case, owner, target, rng)
        opened.append(case)
    return opened + seed_placements(people, cprs, full=count >= 36)


STAGE_ORDER = list(PROCESS_STAGES)
PLACEMENT_STAGES = (Stage.DELIVERY, Stage.FOLLOW_UP, Stage.ENDING)
NEGOTIATED = ("0.92", "0.95", "0.97", "0.98", "1.00", "1.00", "1.03")   # reply price against the list price
LARGEST_PLACEMENT = Decimal("1900000")   # a placement the demo managers may approve (limit 2 m)


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


# --- Placements: bought, started and followed up for years ---

# How many of each kind the full demo has, and whether a smaller demo has one.
PLACEMENT_MIX = (
    ("delivery", 2, True),     # approved, starts in a few weeks
    ("overdue", 5, True),      # running; the next follow-up was due some weeks ago
    ("soon", 4, True),         # running; the next follow-up is due within 14 days
    ("scheduled", 11, False),  # running; the next follow-up is later
    ("new", 3, False),         # started lately; the first follow-up (after three months) is ahead
    ("change", 2, True),       # the last follow-up changed it within frame: contract version 2 in force
    ("ending", 2, True),       # the last follow-up ended it: stage 8, the ending not yet complete
    ("closed", 3, True),       # ended, final cost confirmed, closed
)
# The legal bases of the placements, in turn: most adults live in a § 108 or § 107 home or get § 85 support.
ADULT_PLACEMENT_BASES = ("SEL-108", "SEL-85", "SEL-107", "SEL-108", "SEL-104", "SEL-85", "SEL-108", "SEL-107",
                         "SEL-103", "SEL-108", "SEL-85")
CHILD_PLACEMENT_BASES = ("BL-46", "BL-43", "BL-32", "BL-46", "BL-47", "BL-43", "BL-32")
CONTRACT_TERMS = {  # legal basis: expected duration and notice, in months
    "SEL-108": (60, 3), "SEL-107": (24, 3), "SEL-85": (12, 1), "SEL-104": (24, 1), "SEL-103": (24, 1),
    "BL-32": (12, 1)}
ADULT_GOALS = tuple(GOALS[i] for i in (0, 1, 2, 3, 4, 7))
CHILD_GOALS = tuple(GOALS[i] for i in (1, 5, 6))
SCORES = ("not_achieved", "partly", "achieved")
GOAL_NOTES = {  # goal text: what a follow-up notes at each score
    GOALS[0][1]: ("Handler kun ind sammen med personalet.", "Handler selv ind efter liste; personalet venter udenfor.",
                  "Handler selv ind hver fredag."),
    GOALS[1][1]: ("Er ikke kommet i gang endnu.", "Møder i gennemsnit op én dag om ugen.",
                  "Har mødt op to dage om ugen i hele perioden."),
    GOALS[2][1]: ("Restance på to måneders husleje.", "Én betaling for sent i perioden.", "Ingen restancer."),
    GOALS[3][1]: ("Personalet giver stadig medicinen.", "Enkelte glemte doser; dosisæsken hjælper.",
                  "Tager selv medicinen efter skemaet."),
    GOALS[4][1]: ("Har brug for hjælp til det meste.", "Klarer det med guidning om morgenen.", "Klæder sig selv på."),
    GOALS[5][1]: ("Fravær over 40 % i perioden.", "Går i skole tre dage om ugen i gennemsnit.", "Fremmøde over 90 %."),
    GOALS[6][1]: ("Samværet er aflyst flere gange.", "Samvær de fleste af de aftalte weekender.",
                  "Samvær hver anden weekend som aftalt."),
    GOALS[7][1]: ("Bruger sjældent piktogrammerne.", "Bruger piktogrammerne med støtte.",
                  "Bruger piktogrammerne selvstændigt."),
}
PARTICIPANTS = {
    "residence": ("Borgeren, kontaktperson fra tilbuddet og sagsbehandler",
                  "Borgeren, værge, kontaktperson og sagsbehandler",
                  "Borgeren, borgerens mor, kontaktpædagog og sagsbehandler",
                  "Borgeren og sagsbehandler; kontaktpersonen deltog telefonisk",
                  "Borgeren, bisidder, afdelingsleder fra tilbuddet og sagsbehandler"),
    "support": ("Borgeren, bostøttemedarbejder og sagsbehandler",
                "Borgeren, støttekontaktperson og sagsbehandler",
                "Borgeren, værge, medarbejder fra tilbuddet og sagsbehandler"),
    "child": ("Barnet, forældremyndighedsindehaver, kontaktperson fra anbringelsesstedet og sagsbehandler",
              "Den unge, mor, kontaktpædagog, skolens lærer og sagsbehandler",
              "Barnet (samtale alene med sagsbehandler), derefter forældrene og anbringelsesstedet",
              "Den unge, far, kontaktperson og sagsbehandler; mor deltog på video"),
}
CITIZEN_VIEWS = {
    "adult": ("Er glad for at bo her og har fået god kontakt til sin kontaktperson.",
              "Synes det går bedre med at lave mad selv, men savner mere at lave i weekenderne.",
              "Er utryg ved de mange vikarer om aftenen.",
              "Ønsker på sigt at flytte i egen lejlighed med bostøtte.",
              "Vil gerne se sin søster oftere og har bedt om hjælp til transport.",
              "Er tilfreds med hjælpen og ønsker ingen ændringer.",
              "Oplever at dagene er mere forudsigelige nu, og at der er færre konflikter.",
              "Keder sig i dagtimerne og vil gerne i praktik."),
    "child": ("Er glad for skolen og har fået en ven i klassen.",
              "Savner sin mor og vil gerne hjem på weekend oftere.",
              "Kan godt lide aktiviteterne, men synes reglerne om skærmtid er for strenge.",
              "Siger, at det er rart at have en fast voksen at gå til.",
              "Vil gerne gå til fodbold og har spurgt, om det kan begynde efter sommerferien."),
}
FOLLOW_UP_NOTES = ("", "", "Tilbuddets statusrapport var grundig og kom i god tid.",
                   "Aftalt, at kontaktpersonen sender en kort status hver tredje måned.",
                   "Borgerens medicin er gennemgået med egen læge siden sidst.")
PLAN_NOTE = {"adult": "Handleplanen (§ 141) er opdateret efter mødet.",
             "child": "Barnets plan (§ 91) er opdateret efter mødet."}
DEVIATIONS = ("Statusrapporten kom tre uger for sent.", "Kontaktpersonen er skiftet to gange i perioden.",
              "Det aftalte aktivitetstilbud er endnu ikke sat i gang.",
              "Fakturaen indeholdt et tillæg for ekstra nattevagt, som ikke var aftalt; krediteret efter henvendelse.",
              "Færre timer leveret end aftalt i ferieperioden; modregnet i fakturaen.")
INCIDENTS = {
    "adult": ("Magtanvendelse (fastholdelse ved konflikt) er indberettet og gennemgået med tilbuddets leder.",
              "Borgeren faldt på badeværelset; ingen varige mén, pårørende og tilsyn er orienteret.",
              "Medicinfejl: en dosis blev givet for sent; tilbuddet har skærpet sine procedurer."),
    "child": ("Den unge stak af en weekend; politiet blev underrettet, og den unge kom selv tilbage søndag.",
              "Konflikt mellem to anbragte med slag; forældrene og tilsynet er orienteret."),
}
END_REASONS = {  # by who takes part and whether the goals went well
    ("residence", True): ("Borgeren flytter i egen bolig med bostøtte efter § 85.",
                          "Borgeren har fået plads i et botilbud i sin hjemkommune."),
    ("residence", False): ("Tilbuddet kan ikke længere løfte opgaven; borgeren flytter til et andet tilbud.",),
    ("support", True): ("Målene er nået, og støtten afsluttes efter aftale med borgeren.",
                        "Borgeren flytter til en anden kommune, som overtager sagen."),
    ("support", False): ("Borgeren ønsker ikke længere støtten.",
                         "Støtten slår ikke til; borgeren visiteres til et botilbud."),
    ("child", True): ("Den unge fylder 18 år; efterværn er bevilget i egen bolig.",
                      "Hjemgivelse efter aftale med forældrene."),
    ("child", False): ("Anbringelsesstedet kan ikke rumme barnets behov; barnet flytter til et andet opholdssted.",),
}


@dataclass
class Placement:
    """One demo placement's story, dated backwards from today."""

    kind: str
    child: bool
    bought_on: date          # the supplier dialogue, the choice and the terms
    starts_on: date          # the contract's start, and the delivery's unless the kind is "delivery"
    held: list[date] = field(default_factory=list)   # the citizen's follow-ups, oldest first
    end_date: date | None = None    # set when the follow-up that ends it is held
    closed_on: date | None = None


@dataclass
class _Story:
    """What changes from one follow-up to the next: goals, functional levels, the supplier's quality."""

    trend: str                        # "improving", "steady" or "declining"
    quality: str
    group: str                        # "adult" or "child"
    setting: str                      # "residence", "support" or "child": who takes part
    goal_levels: dict[int, int] = field(default_factory=dict)    # goal id -> index into SCORES
    theme_levels: dict[str, int] = field(default_factory=dict)
    invoiced_until: date | None = None


def seed_placements(people: dict[str, User], cprs: CprFactory, full: bool = True,
                    rng: random.Random | None = None) -> list[PurchaseCase]:
    """Placements in stages 6–8 with years of follow-ups, over both units and several legal bases."""
    rng = rng or random.Random(2027)
    today = clock.today()
    kinds = [kind for kind, many, small in PLACEMENT_MIX for _ in range(many if full else int(small))]
    rng.shuffle(kinds)
    placed: list[PurchaseCase] = []
    turns: Counter = Counter()
    for kind in kinds:
        child = len(placed) % 3 == 2   # a third in Børn og Familie
        bases = CHILD_PLACEMENT_BASES if child else ADULT_PLACEMENT_BASES
        code = bases[turns[child] % len(bases)]
        turns[child] += 1
        placed.append(_seed_placement(people, cprs, code, _plan(kind, child, rng, today), rng, today))
    return placed


def _late(rng: random.Random) -> timedelta:
    """How long after its due date a follow-up is held (a few are held early)."""
    return timedelta(days=rng.randint(-7, 28))


def _plan(kind: str, child: bool, rng: random.Random, today: date) -> Placement:
    """Dates that make the kind: worked backwards from the follow-up due or held near today."""
    if kind == "delivery":
        return Placement(kind, child, bought_on=today - timedelta(days=rng.randint(25, 40)),
                         starts_on=today + timedelta(days=rng.randint(7, 35)))
    held: list[date] = []
    count = 0   # follow-ups held
    if kind == "new":
        starts = today - timedelta(days=rng.randint(20, 70))
    elif kind in ("overdue", "soon", "scheduled"):
        # Soon due from four days on: a due date moved to a month's end and back can come up to three days earlier.
        due = today + timedelta(days={"overdue": -rng.randint(8, 45), "soon": rng.randint(4, 12),
                                      "scheduled": rng.randint(20, 330)}[kind])
        count = rng.choices((0, 1, 2, 3), (1, 3, 3, 2))[0]
        if due > today + timedelta(days=80):
            count = max(count, 1)   # a first follow-up this far ahead would mean a start in the future
        held = [clock.add_months(due, -12)] if count else []
        starts = clock.add_months(due, -3)   # when no follow-up is held yet, the first one is the one due
    else:  # the last follow-up decided the kind
        days = {"change": (14, 40), "ending": (7, 60), "closed": (150, 420)}[kind]
        count = rng.randint(1, 2 if kind == "closed" else 3)
        held = [today - timedelta(days=rng.randint(*days))]
    while len(held) < count:
        held.insert(0, clock.add_months(held[0] - _late(rng), -12))
    if held:
        starts = clock.add_months(held[0] - _late(rng), -3)
    return Placement(kind, child, bought_on=starts - timedelta(days=rng.randint(40, 70)), starts_on=starts, held=held)


def _moment(day: date, rng: random.Random) -> datetime:
    """A working-hours moment of a day in Copenhagen, as stored (UTC), never later than now."""
    local = datetime.combine(day, time(rng.randint(8, 15), rng.randint(0, 59)), tzinfo=clock.COPENHAGEN)
    return min(local.astimezone(UTC), datetime.now(UTC))


def _seed_placement(people: dict[str, User], cprs: CprFactory, code: str, plan: Placement, rng: random.Random,
                    today: date) -> PurchaseCase:
    """Open, assess, buy and approve on the plan's dates; then start it and follow it up."""
    child = plan.child
    owner = people["boernesag"] if child else people[rng.choice(("caseworker", "caseworker", "caseworker2"))]
    _basis, group, budget = _case_input(rng, child, code)
    case = cases.open_case(
        owner, cpr_text=cprs.child(2008, 2016) if child else cprs.adult(),
        citizen_name=_citizen_name(rng),
        home_municipality=rng.choice(MUNICIPALITIES).code, legal_basis=code, target_group=group,
        acute=rng.random() < 0.1, desired_start=plan.starts_on, budget_frame=budget,
        procurement=people[rng.choice(("procurement", "procurement2"))], economy=people["economy"])
    opened = plan.bought_on - timedelta(days=rng.randint(35, 50))
    case.created_at = _moment(opened, rng)
    case.number = f"SK-{opened.year}-{case.id:05d}"
    hours = {"SEL-85": (5, 8, 10, 12, 15), "BL-32": (4, 6, 8)}.get(code)
    _assess(case, owner, rng, complete=True, child=child, today=plan.bought_on,
            hours=rng.choice(hours) if hours else None, goal_pool=CHILD_GOALS if child else ADULT_GOALS)
    transitions.take_step(case, Event.COMPLETE_ASSESSMENT, owner)
    _work_until(case, owner, Stage.DELIVERY, rng, today=plan.bought_on)
    if case.stage != Stage.DELIVERY:
        raise RuntimeError(f"demo placement {case.number} was not approved")
    if plan.kind != "delivery":
        _follow(case, owner, plan, rng, today)
    _backdate_stages(case, plan, rng)
    return case


def _follow(case: PurchaseCase, owner: User, plan: Placement, rng: random.Random, today: date) -> None:
    """Start the delivery and hold the plan's follow-ups, each with its supplier and money side."""
    followup.start_delivery(case, owner, plan.starts_on, plan.starts_on)
    assessment = cases.current_assessment(case)
    declining = plan.kind == "change" or (plan.kind in ("ending", "closed") and rng.random() < 0.4)
    story = _Story(
        trend="declining" if declining else rng.choices(("improving", "steady", "declining"), (75, 20, 5))[0],
        quality=rng.choices(("good", "acceptable", "poor"), (70, 25, 5))[0],
        group="child" if plan.child else "adult",
        setting="child" if plan.child else "residence" if case.legal_basis in ("SEL-107", "SEL-108") else "support",
        theme_levels={theme.theme: theme.level for theme in assessment.themes if theme.level})
    last_outcome = {"change": "change_within_frame", "ending": "end", "closed": "end"}.get(plan.kind, "continue")
    for number, held_on in enumerate(plan.held):
        _hold_supplier_reviews(case, story, rng, before=held_on)
        _record_money_side(case, story, rng, held_on)
        outcome = last_outcome if number == len(plan.held) - 1 else "continue"
        if outcome == "end":  # notice given within the week, to the end of the month the notice runs out in
            notice_ends = clock.add_months(held_on + timedelta(days=7), contracts.in_force(case).notice_months)
            plan.end_date = clock.add_months(notice_ends.replace(day=1), 1) - timedelta(days=1)
            if plan.kind == "closed":
                plan.closed_on = min(plan.end_date + timedelta(days=rng.randint(5, 30)), today)
        followup.record(case, owner, _follow_up_input(case, story, rng, held_on, outcome, plan, first=number == 0),
                        today=held_on)
        if outcome == "change_within_frame":
            _change_within_frame(case, rng, held_on)
    if case.stage == Stage.FOLLOW_UP:
        # Supplier reviews are held as they fall due; now and then one is left waiting.
        _hold_supplier_reviews(case, story, rng, before=today - timedelta(days=20 if rng.random() < 0.85 else 370))
    if plan.kind in ("ending", "closed"):
        _record_ending(case, owner, plan, rng)


def _hold_supplier_reviews(case: PurchaseCase, story: _Story, rng: random.Random, before: date) -> None:
    """Procurement holds the yearly supplier reviews that fell due before a day."""
    while (review := followup.next_open(case, "supplier_review")) is not None:
        held_on = review.due_date + timedelta(days=rng.randint(-5, 25))
        if held_on >= before:
            return
        followup.record_supplier_side(case, review, case.procurement, followup.SupplierSideInput(
            held_on=held_on, **_supplier_side(story, rng)), today=held_on)


def _supplier_side(story: _Story, rng: random.Random) -> dict:
    quality = story.quality if rng.random() < 0.75 else rng.choice(("good", "acceptable"))
    troubled = {"good": 0.1, "acceptable": 0.5, "poor": 1.0}[quality]
    return {"reports_received": rng.random() < (0.92 if quality == "good" else 0.6), "quality": quality,
            "deviations": rng.choice(DEVIATIONS) if rng.random() < troubled else "",
            "incidents": rng.choice(INCIDENTS[story.group]) if rng.random() < troubled / 3 else ""}


def _record_money_side(case: PurchaseCase, story: _Story, rng: random.Random, held_on: date) -> None:
    """Economy checks the invoices up to the end of the last month against the contract."""
    period_from = story.invoiced_until + timedelta(days=1) if story.invoiced_until else case.delivery_started_on
    period_to = held_on.replace(day=1) - timedelta(days=1)
    money = {}
    if period_to >= period_from:
        owed = followup.cost_between(case, period_from, period_to)
        roll = rng.random()
        factor = ("1.00" if roll < 0.55 else rng.choice(("0.96", "0.98", "0.99")) if roll < 0.8
                  else rng.choice(("1.01", "1.02", "1.03", "1.05")))
        money = {"period_from": period_from, "period_to": period_to,
                 "invoiced": (owed * Decimal(factor)).quantize(pricing.ONE_ORE)}
        story.invoiced_until = period_to
    followup.record_supplier_side(case, followup.next_open(case), case.economy, followup.SupplierSideInput(
        **_supplier_side(story, rng), **money), today=held_on)


def _follow_up_input(case: PurchaseCase, story: _Story, rng: random.Random, held_on: date, outcome: str,
                     plan: Placement, first: bool) -> followup.FollowUpInput:
    step = {"improving": (0, 1, 1), "steady": (-1, 0, 0, 0, 1), "declining": (-1, -1, 0)}[story.trend]
    scores = []
    for goal in cases.current_assessment(case).goals:
        start = rng.choice((0, 1) if goal.goal_type == "develop" else (1, 2))
        level = start if first else story.goal_levels[goal.id] + rng.choice(step)
        story.goal_levels[goal.id] = level = min(max(level, 0), 2)
        note = GOAL_NOTES.get(goal.text, ("", "", ""))[level] if rng.random() < 0.6 else ""
        scores.append(followup.GoalScoreInput(goal.id, SCORES[level], note))
    levels = {}
    if story.trend == "improving" and not first and rng.random() < 0.35:
        theme = rng.choice(sorted(theme for theme, level in story.theme_levels.items() if level >= 2) or [None])
        if theme:
            story.theme_levels[theme] = levels[theme] = story.theme_levels[theme] - 1
    notes = [rng.choice(FOLLOW_UP_NOTES), PLAN_NOTE[story.group] if rng.random() < 0.4 else ""]
    end_reason = ""
    if outcome == "change_within_frame":
        notes.append("Behov for mere støtte i hverdagen; indsatsen udvides inden for rammen.")
    if outcome == "end":
        end_reason = rng.choice(END_REASONS[(story.setting, story.trend != "declining")])
    return followup.FollowUpInput(
        held_on=held_on, participants=rng.choice(PARTICIPANTS[story.setting]),
        citizen_view=rng.choice(CITIZEN_VIEWS[story.group]), outcome=outcome, scores=scores,
        functional_levels=levels, notes=" ".join(filter(None, notes)),
        end_date=plan.end_date if outcome == "end" else None, end_reason=end_reason)


def _change_within_frame(case: PurchaseCase, rng: random.Random, held_on: date) -> None:
    """Version 2 (drafted by the outcome) with more support: procurement changes and submits it, economy
    reviews it and a manager within their limit approves it."""
    contract = contracts.current(case)
    buyer = case.procurement
    lines = _terms_input(contract).lines
    if lines[0].unit == "time":
        lines[0].quantity += rng.choice((2, 3, 4))
        added = f"Timetallet er øget til {lines[0].quantity.normalize()} timer om ugen"
    else:
        lines.append(contracts.LineInput("Ekstra 1:1-støtte (særydelse)", "time",
                                         Decimal(rng.choice(("395.00", "420.00", "445.00"))),
                                         Decimal(rng.choice((4, 6, 8))), supplement=True))
        added = "Ekstra 1:1-støtte er tilføjet som særydelse"
    further = f"{added} efter opfølgningen {held_on:%d-%m-%Y}."
    contracts.save_terms(case, contract, buyer, None, _terms_input(
        contract, lines=lines, further_services="\n".join(filter(None, (contract.further_services, further)))))
    contracts.submit(case, contract, buyer)
    contracts.review(case, contract, case.economy)
    contracts.approve(case, contract, _approver(case, contract))


def _record_ending(case: PurchaseCase, owner: User, plan: Placement, rng: random.Random) -> None:
    """Economy notes when notice was given; a closed placement has its final cost and is closed."""
    found = followup.ending(case)
    notice_given_on = plan.held[-1] + timedelta(days=rng.randint(0, 3))
    if plan.kind == "ending" and rng.random() < 0.5:
        return  # nothing recorded yet beyond what the follow-up said
    final_cost = None
    if plan.kind == "closed":
        final_cost = (found.computed_cost * Decimal(rng.choice(("0.97", "0.99", "1.00", "1.00", "1.01"))))
        final_cost = final_cost.quantize(pricing.ONE_ORE)
    followup.save_ending(case, case.economy, followup.EndingInput(
        end_date=found.end_date, reason=found.reason, final_cost=final_cost, notice_given_on=notice_given_on))
    if plan.kind == "closed":
        followup.close(case, owner)
        case.closed_at = _moment(plan.closed_on, rng)


def _backdate_stages(case: PurchaseCase, plan: Placement, rng: random.Random) -> None:
    """Date the placement's stage visits by its story, so stage durations look like real ones."""
    decided = cases.current_assessment(case).decision_date
    entered = {("needs", 0): clock.local_date(case.created_at), ("market_scan", 0): decided,
               ("dialogue", 0): plan.bought_on}
    entered[("terms", 0)] = plan.bought_on + timedelta(days=rng.randint(12, 18))
    entered[("approval", 0)] = entered[("terms", 0)] + timedelta(days=rng.randint(2, 6))
    entered[("delivery", 0)] = min(entered[("approval", 0)] + timedelta(days=rng.randint(3, 9)), plan.starts_on)
    entered[("follow_up", 0)] = plan.starts_on
    if plan.kind == "change":
        entered[("terms", 1)] = plan.held[-1]
        entered[("approval", 1)] = plan.held[-1] + timedelta(days=rng.randint(3, 8))
    if plan.kind in ("ending", "closed"):
        entered[("ending", 0)] = plan.held[-1]
    if plan.closed_on:
        entered[("closed", 0)] = plan.closed_on
    visits = db.session.scalars(select(StageVisit).where(StageVisit.case_id == case.id).order_by(StageVisit.id)).all()
    seen: Counter = Counter()
    for visit in visits:
        day = entered.get((visit.stage, seen[visit.stage]))
        seen[visit.stage] += 1
        if day is not None:
            visit.entered_at = _moment(day, rng)
    for visit, following in zip(visits, visits[1:], strict=False):
        visit.left_at = following.entered_at
    case.stage_entered_at = visits[-1].entered_at


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
