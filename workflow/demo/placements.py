"""Placements (stages 6–8): bought, started and followed up for years, through the services.

Dated backwards: the services take `today` as an argument, so the demo passes the day each step
happened (approvals and the audit trail still carry the real time of seeding).
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from workflow import clock, pricing
from workflow.demo.casework import GOALS, _approver, _assess, _case_input, _citizen_name, _terms_input, _work_until
from workflow.demo.people import CprFactory
from workflow.extensions import db
from workflow.models import PurchaseCase, StageVisit, User
from workflow.municipalities import MUNICIPALITIES
from workflow.process import Event, Stage
from workflow.services import cases, contracts, followup, transitions

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
    """How long after its due date a follow-up is held: most on time (up to three weeks early), some late."""
    return timedelta(days=rng.randint(1, 28) if rng.random() < 0.3 else rng.randint(-21, 0))


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
