"""What each stage leaves behind, as rows: one purchase case with its history, for the bulk writer.

A case in a stage has what the earlier stages wrote, dated backwards from now: the needs assessment
with its themes and goals, the shortlist, the anonymised requirement with inquiries and the suppliers'
replies (price quotes), the choice, the contract versions with price lines and approval events, the
follow-ups held with goal scores and the supplier and money side, the ending; and its stays in each
stage, its audit trail, a comment now and then and the reads of it (access log). Nothing goes through
the services: workflow/demo/casework.py and placements.py are the demo that does, and the texts here
are theirs.
"""
from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from flask_babel import force_locale

from workflow import clock, cpr, pricing
from workflow.demo.casework import GOALS, NARRATIVES, NEGOTIATED
from workflow.demo.placements import (
    CITIZEN_VIEWS,
    DEVIATIONS,
    END_REASONS,
    FOLLOW_UP_NOTES,
    GOAL_NOTES,
    PARTICIPANTS,
    SCORES,
)
from workflow.legal_basis import BY_CODE as LEGAL_BASES
from workflow.models import (
    AccessLog,
    ApprovalEvent,
    AuditEvent,
    CaseComment,
    CaseEnding,
    Choice,
    Citizen,
    ContractPriceLine,
    ContractVersion,
    FollowUp,
    Goal,
    GoalScore,
    Inquiry,
    NeedsAssessment,
    NegotiationNote,
    PurchaseCase,
    Reply,
    ReplyPriceLine,
    Requirement,
    ShortlistEntry,
    StageVisit,
    ThemeAssessment,
)
from workflow.process import PROCESS_STAGES
from workflow.services.contracts import DEFAULT_ABSENCE, DEFAULT_DATA_PROCESSING, DEFAULT_DOCUMENTATION
from workflow.services.dialogue import age_band
from workflow.vocabulary import SERVICE_TYPE_LABELS
from workflow.vum import LEVEL_LABELS, THEME_LABELS, THEMES

PATH = [str(stage) for stage in PROCESS_STAGES]            # needs ... ending
DAYS_IN = {"needs": (7, 45), "market_scan": (3, 20), "dialogue": (10, 30), "terms": (4, 15), "approval": (2, 10),
           "delivery": (7, 40), "ending": (20, 100)}       # how long a stay in a stage usually lasts
SUPPLIER_REVIEW_MONTHS = 12
THEME_CODES = [code for code, _label, _group in THEMES]
HOURS = {"SEL-85": (5, 8, 10, 12, 15), "BL-32": (4, 6, 8)}  # support hours a week, where the price is by the hour
COMMENTS = ("Har talt med borgerens værge; de er enige i planen.", "Afventer svar fra egen læge om medicinen.",
            "Tilbuddet har ringet: der kommer en ledig plads til næste måned.",
            "Borgeren ønsker at se stedet før beslutningen; besøg aftalt.",
            "Økonomi har bedt om en opdateret prisoversigt.", "Mødereferat fra netværksmødet er lagt i journalen.")
# Running placements without a registry behind them (bulk_placements): legal basis, line unit, unit price range,
# quantity range; the suppliers are made up from these words.
PROFILES = (("SEL-108", "døgn", (2200, 3300), (1, 1)), ("SEL-107", "døgn", (1900, 3000), (1, 1)),
            ("SEL-85", "time", (380, 520), (4, 20)), ("SEL-104", "måned", (9000, 16000), (1, 1)),
            ("BL-46", "døgn", (2800, 4200), (1, 1)), ("BL-32", "time", (450, 700), (3, 12)))
SUPPLIER_NAMES = ("Bo- og Aktivitetscenter", "Opholdsstedet", "Bofællesskabet", "Botilbuddet",
                  "Socialpsykiatrisk Center", "Specialbørnehjemmet", "Støttecentret", "Behandlingshjemmet")
PLACES = ("Solsikken", "Egebakken", "Lærkereden", "Skovbrynet", "Fjordglimt", "Havblik", "Kastanjehuset",
          "Engholm", "Bakkely", "Lindegården", "Granly", "Mosegården", "Åbrinken", "Nordlyset", "Bøgely")
PROFILE_OF = {profile[0]: profile for profile in PROFILES}
# Audit details that many events share, one dict each (the writer turns each dict into JSON once); never changed.
NO_DETAILS: dict = {}
NEEDS_SAVED = {"changes": {"support_need": [None, "high"]}}
ACUTE_CHANGED = ({"changes": {"acute": [False, False]}}, {"changes": {"acute": [False, True]}})
EXTRA_HOUR = Decimal("410.00")      # a supplement: extra support hours a week
ONE = Decimal(1)
EXTRA_HOURS = (Decimal(2), Decimal(4), Decimal(6))
# Factors on the price: a reply's against the list price, what was invoiced against the contract, the final cost
# against the computed one, a list price against what was negotiated.
REPLY_FACTORS = tuple(map(Decimal, NEGOTIATED))
INVOICE_FACTORS = tuple(map(Decimal, ("1.00", "1.00", "0.98", "1.02")))
FINAL_FACTORS = tuple(map(Decimal, ("0.99", "1.00", "1.01")))
LIST_FACTORS = tuple(map(Decimal, ("1.00", "1.03", "1.05", "0.98")))


def between(rng: random.Random, low: int, high: int) -> int:
    """rng.randint's range, at a fraction of its cost (it is called a few hundred times per case)."""
    return low + int(rng.random() * (high - low + 1))


def pick(rng: random.Random, options: Sequence):
    """rng.choice, at half its cost (called a few dozen times per case)."""
    return options[int(rng.random() * len(options))]


@dataclass(frozen=True)
class OfferFacts:
    """What the shortlist, the dialogue and the contract read of one offer in the registry."""

    id: int
    name: str
    supplier_name: str
    cvr: str
    ean: str | None
    email: str
    contact: str
    unit: str
    list_price: Decimal
    approved: bool
    vacancies: int
    framework_name: str | None
    service_text: str


@dataclass(frozen=True)
class Team:
    """Who works on a case: its unit, owner, procurement and economy colleagues and the approving manager."""

    unit_id: int
    owner_id: int
    procurement_id: int | None
    economy_id: int | None
    approver_id: int | None


@dataclass
class Story:
    """One case as it is being written: its dates and what later stages read of earlier ones."""

    case_id: int
    citizen_id: int
    basis: str
    team: Team
    entered: dict[str, datetime]
    hours: int | None
    age: int
    goals: list[tuple[int, str, str, str]] = field(default_factory=list)   # (goal id, type, text, measure)
    levels: list[tuple[str, int]] = field(default_factory=list)           # (theme, level) as assessed
    shortlist: list[OfferFacts] = field(default_factory=list)
    chosen: OfferFacts | None = None
    lines: list[tuple[str, str, Decimal, Decimal, bool]] | None = None   # the chosen reply's price lines
    annual: Decimal = Decimal(0)


@dataclass
class Setting:
    """What every case is written against: the registry by legal basis, the settings and the Danish texts the
    stages read. Plain values, built once (workflow/demo/bulk.py) and handed to the processes that write."""

    today: date
    now: datetime
    offers: dict[str, list[OfferFacts]]        # by legal basis
    tiers: list[dict]                          # settings' approval tiers
    intervals: dict[str, tuple[int, int]]      # months to the first follow-up and between, by legal basis
    municipality: str
    municipality_ean: str
    level_text: dict[tuple[str, int], str]     # "Theme: level" as the requirement shows it
    services: dict[str, str]                   # the typical services of each legal basis, as text

    @staticmethod
    def texts() -> tuple[dict, dict]:
        """The requirement's texts in Danish, as the service writes them (needs an app context)."""
        with force_locale("da"):
            levels = {(code, level): f"{THEME_LABELS[code]}: {LEVEL_LABELS[level]}"
                      for code in THEME_CODES for level in LEVEL_LABELS}
            services = {code: ", ".join(str(SERVICE_TYPE_LABELS[s]) for s in basis.typical_services)
                        for code, basis in LEGAL_BASES.items()}
        return levels, services


class CaseWriter:
    """Writes purchase cases with their history into a Batch (workflow/demo/bulk.py), one call per case."""

    def __init__(self, batch, rng: random.Random, setting: Setting):
        self.batch, self.rng, self.setting = batch, rng, setting
        self.today, self.now = setting.today, setting.now
        self.by_basis = setting.offers
        self.suppliers = [(f"{pick(rng, SUPPLIER_NAMES)} {pick(rng, PLACES)}{' ApS' if index % 3 == 0 else ''}",
                           f"{30000000 + index * 7919 % 9999999:08d}") for index in range(150)]
        self.made_up = 0    # contracts written with a made-up supplier
        self.details: dict[tuple, dict] = {}

    # --- The case and its dates ---

    def write(self, stage: str, team: Team, citizen: dict, basis: str, group: str, budget: Decimal,
              cancelled_from: str | None = None, run_days: int | None = None, long: bool = False) -> int:
        """One case in `stage` (cancelled: from `cancelled_from`) with everything before it; returns its id.

        `run_days`: how long a running placement has run (follow-up) or ran before it ended (ending, closed).
        `long`: a case with a long history: ten years of follow-ups (the latest overdue), hundreds of events,
        comments and reads.
        """
        rng, batch = self.rng, self.batch
        if long:
            run_days = 3650
        path = self._path(stage, cancelled_from)
        entered = self._entered(path, stage, run_days)
        created = entered[path[0]]
        citizen_id = batch.add(Citizen, **citizen)
        reached = set(path)
        started_on = clock.local_date(entered["follow_up"]) if "follow_up" in reached else None
        closed_at = entered.get("closed") or entered.get("cancelled")
        case_id = batch.add(
            PurchaseCase, number=f"SK-{created.year}-{batch.peek(PurchaseCase):05d}", citizen_id=citizen_id,
            legal_basis=basis, target_group=group, unit_id=team.unit_id, owner_id=team.owner_id,
            procurement_id=team.procurement_id, economy_id=team.economy_id, acute=rng.random() < 0.1,
            desired_start=(created + timedelta(days=between(rng, 45, 120))).date(), budget_frame=budget, stage=stage,
            stage_entered_at=entered[path[-1]], delivery_started_on=started_on, created_at=created,
            changed_at=min(self.now, entered[path[-1]] + timedelta(days=between(rng, 0, 20))), closed_at=closed_at,
            cancel_reason="Borgeren har fået tilbud i egen kommune" if stage == "cancelled" else None)
        story = Story(case_id, citizen_id, basis, team, entered, pick(rng, HOURS[basis]) if basis in HOURS else None,
                      cpr.age_on(cpr.birth_date(citizen["cpr"]), clock.local_date(entered[path[-1]])))
        self._event(story, "case.opened", created, NO_DETAILS)
        self._needs(story, decided="market_scan" in reached or rng.random() < 0.5,
                    child=LEGAL_BASES[basis].for_children)
        if "market_scan" in reached:
            self._shortlist(story, every=stage != "market_scan")
        if "dialogue" in reached:
            self._dialogue(story, all_replied="terms" in reached)
        if story.chosen is not None:
            self._contract(story, stage)
        elif "delivery" in reached:      # no registry behind it: a made-up supplier
            self._placement_contract(story)
        if started_on is not None:
            self._follow_ups(story, started_on, stage, long)
        if "ending" in reached:
            self._ending(story, stage)
        self._visits(story, path)
        self._reads(story, long)
        return case_id

    def _path(self, stage: str, cancelled_from: str | None) -> list[str]:
        if stage == "cancelled":
            return PATH[:PATH.index(cancelled_from or "needs") + 1] + ["cancelled"]
        if stage == "closed":
            return PATH + ["closed"]
        return PATH[:PATH.index(stage) + 1]

    def _entered(self, path: list[str], stage: str, run_days: int | None) -> dict[str, datetime]:
        """When the case entered each stage of its path, worked backwards from how long it is in the last one."""
        rng = self.rng
        if stage == "follow_up":
            elapsed = run_days if run_days is not None else self._run_days()
        elif stage in ("closed", "cancelled"):
            elapsed = between(rng, 0, 6 * 365)
        else:
            elapsed = between(rng, 0, DAYS_IN[stage][1])
        moment = self.now - timedelta(days=elapsed, minutes=between(rng, 0, 600))
        entered = {path[-1]: moment}
        for previous in reversed(path[:-1]):
            days = (run_days or self._run_days()) if previous == "follow_up" else between(rng, *DAYS_IN[previous])
            moment = moment - timedelta(days=days, minutes=between(rng, 0, 900))
            entered[previous] = moment
        return entered

    def _run_days(self) -> int:
        """How long a placement has run: many for a year or two, some for many years."""
        return min(20 + int(self.rng.expovariate(1 / 700)), 3000)

    # --- Stage 1: the needs assessment ---

    def _needs(self, story: Story, decided: bool, child: bool) -> None:
        rng, batch = self.rng, self.batch
        when = story.entered["needs"] + timedelta(days=between(rng, 1, 6))
        decision = clock.local_date(story.entered["market_scan"]) - timedelta(days=between(rng, 0, 3)) \
            if "market_scan" in story.entered else clock.local_date(when) if decided else None
        assessment = batch.add(
            NeedsAssessment, case_id=story.case_id, support_need=pick(rng, ("moderate", "high", "complete")),
            expected_duration=pick(rng, ("2 år", "Varigt, revurderes årligt", "6 måneder")),
            wishes="Ønsker at bo tæt på sin familie." if rng.random() < 0.6 else None,
            special_conditions="Har brug for faste, genkendelige rammer." if rng.random() < 0.5 else None,
            required_hours_per_week=story.hours, consent_to_contact_suppliers=decision is not None,
            consent_date=decision,
            child_investigation_date=decision - timedelta(days=20) if child and decision else None,
            decision_date=decision, decided_by_id=story.team.owner_id if decision else None,
            created_at=story.entered["needs"])
        levels = story.levels
        for code in rng.sample(THEME_CODES, between(rng, 4, 7)):
            level = between(rng, 1, 4)
            levels.append((code, level))
            batch.add(ThemeAssessment, assessment_id=assessment, theme=code, level=level,
                      narrative=pick(rng, NARRATIVES))
        for position, (goal_type, text, measure) in enumerate(rng.sample(GOALS, between(rng, 1, 3))):
            goal = batch.add(Goal, assessment_id=assessment, position=position, goal_type=goal_type, text=text,
                             measure=measure)
            story.goals.append((goal, goal_type, text, measure))
        self._event(story, "needs.saved", when, NEEDS_SAVED)

    # --- Stage 2: the market scan's shortlist ---

    def _shortlist(self, story: Story, every: bool) -> None:
        rng = self.rng
        offers = self.by_basis.get(story.basis) or []
        count = min(len(offers), 3 if every else between(rng, 0, 3))
        story.shortlist = rng.sample(offers, count) if count else []
        added = story.entered["market_scan"] + timedelta(days=1, hours=between(rng, 0, 8))
        for offer in story.shortlist:
            self.batch.add(ShortlistEntry, case_id=story.case_id, offer_id=offer.id, score=between(rng, 45, 95),
                           note=pick(rng, ("Tæt på familien", "God erfaring fra tidligere sager",
                                            "Har ledig plads nu", None)),
                           added_by_id=story.team.owner_id, added_at=added)

    # --- Stage 3: the supplier dialogue ---

    def _dialogue(self, story: Story, all_replied: bool) -> None:
        rng, batch = self.rng, self.batch
        buyer = story.team.procurement_id or story.team.owner_id
        sent = story.entered["dialogue"] + timedelta(days=between(rng, 1, 4), hours=between(rng, 0, 6))
        sent_on = clock.local_date(sent)
        batch.add(Requirement, case_id=story.case_id, age_band=age_band(story.age),
                  functional_summary="\n".join(self.setting.level_text[level] for level in story.levels),
                  support_need="high", goals="\n".join(f"{text} ({measure})" for _g, _t, text, measure in story.goals),
                  services=self.setting.services[story.basis], hours_per_week=story.hours,
                  desired_start=sent_on + timedelta(days=60), changed_at=sent)
        quotes = []
        for number, offer in enumerate(story.shortlist):
            inquiry = batch.add(
                Inquiry, case_id=story.case_id, offer_id=offer.id, email_to=offer.email,
                token_hash=hashlib.sha256(f"bench-{batch.peek(Inquiry)}".encode()).hexdigest(),
                deadline=sent_on + timedelta(days=14), sent_at=sent, mailed_at=sent,
                sent_by_id=buyer)
            if not all_replied and number >= between(rng, 0, 3):
                continue
            hours = Decimal(story.hours) if offer.unit == "time" and story.hours else ONE
            lines = [("Grundtakst", offer.unit, (offer.list_price * pick(rng, REPLY_FACTORS)).quantize(
                pricing.ONE_ORE), hours, False)]
            if rng.random() < 0.2:
                lines.append(("Ekstra 1:1-støtte (særydelse)", "time", EXTRA_HOUR, pick(rng, EXTRA_HOURS),
                              True))
            answered = sent + timedelta(days=between(rng, 2, 12), hours=between(rng, 0, 6))
            for revision in range(1, (2 if rng.random() < 0.15 else 1) + 1):
                reply = batch.add(
                    Reply, inquiry_id=inquiry, number=revision, can_deliver=True,
                    earliest_start=clock.local_date(answered) + timedelta(days=30), submitted_at=answered,
                    contact_name=offer.contact, contact_email=offer.email, channel="link",
                    additional_services="Tilbyder ugentlig træning i praktiske opgaver." if revision > 1 else None)
                for description, unit, price, quantity, _supplement in lines:
                    batch.add(ReplyPriceLine, reply_id=reply, description=description, unit=unit, unit_price=price,
                              quantity=quantity)
            if rng.random() < 0.2:
                batch.add(NegotiationNote, inquiry_id=inquiry, author_id=buyer, created_at=answered,
                          text="Prisen er drøftet; tilbuddet holder fast i taksten men giver en ekstra time.")
            quotes.append((pricing.yearly_total(_Line(*line) for line in lines), offer, inquiry, reply, lines))
        if all_replied and quotes:
            annual, offer, inquiry, reply, lines = min(quotes, key=lambda quote: quote[0])
            story.chosen, story.lines, story.annual = offer, lines, annual
            chosen_at = story.entered["terms"]
            batch.add(Choice, case_id=story.case_id, inquiry_id=inquiry, reply_id=reply, chosen_by_id=buyer,
                      chosen_at=chosen_at, justification=None)
            self._event(story, "dialogue.chosen", chosen_at, self._details(offer=offer.name))

    # --- Stages 4 and 5: the contract and its approval ---

    def _contract(self, story: Story, stage: str) -> None:
        """Version 1 from the chosen reply: a draft in stage 4, submitted in stage 5, approved from stage 6 on."""
        offer = story.chosen
        status = {"terms": "draft", "approval": pick(self.rng, ("submitted", "reviewed"))}.get(stage, "approved")
        if stage == "cancelled":
            status = "draft" if "approval" not in story.entered else "submitted"
        listed = pricing.yearly(offer.list_price, offer.unit, story.hours if offer.unit == "time" else 1)
        parties = (offer.supplier_name, offer.cvr, offer.ean, offer.name, offer.service_text, listed)
        changed = None
        if status == "approved" and "follow_up" in story.entered and self.rng.random() < 0.08:
            # Changed within the frame at a follow-up: version 2 with extra support is in force.
            changed = min(story.entered["follow_up"] + timedelta(days=between(self.rng, 90, 400)),
                          self.now - timedelta(days=10))
            status = "superseded"
        self._contract_version(story, 1, status, *parties, story.lines, offer.framework_name)
        if changed is not None:
            story.lines = [*story.lines, ("Ekstra 1:1-støtte (særydelse)", "time", EXTRA_HOUR, Decimal(6), True)]
            self._contract_version(story, 2, "approved", *parties, story.lines, offer.framework_name,
                                   when=(changed, changed + timedelta(days=3), changed + timedelta(days=6)))

    def _contract_version(self, story: Story, number: int, status: str, supplier: str, cvr: str, ean: str | None,
                          offer_name: str, service: str, listed: Decimal | None, lines, framework: str | None,
                          when: tuple[datetime, datetime, datetime] | None = None) -> int:
        """One version; `when`: drafted, submitted and approved, else as the case's stays say."""
        rng, batch, team, setting = self.rng, self.batch, story.team, self.setting
        buyer = team.procurement_id or team.owner_id
        economy = team.economy_id or buyer
        if when is None:
            drafted = story.entered["terms"] + timedelta(hours=between(rng, 1, 30))
            submitted = story.entered.get("approval", drafted + timedelta(days=5))
            approved = story.entered.get("delivery", submitted + timedelta(days=4))
        else:
            drafted, submitted, approved = when
        start = clock.local_date(story.entered.get("follow_up", approved + timedelta(days=between(rng, 7, 40))))
        duration = pick(rng, (24, 36, None))
        annual = pricing.yearly_total(_Line(*line) for line in lines)
        done = status in ("approved", "superseded")
        contract = batch.add(
            ContractVersion, case_id=story.case_id, number=number, status=status,
            acting_municipality=setting.municipality, acting_ean=setting.municipality_ean,
            paying_municipality=setting.municipality, paying_ean=setting.municipality_ean, supplier_name=supplier,
            supplier_cvr=cvr, supplier_ean=ean, offer_name=offer_name, legal_basis=story.basis,
            primary_service=service, goals="\n".join(f"{text} ({measure})" for _g, _t, text, measure in story.goals),
            list_price_annual=listed, start_date=start, duration_months=duration,
            review_date=None if duration else start + timedelta(days=730), notice_months=pick(rng, (1, 3, 6)),
            absence_rules=DEFAULT_ABSENCE, documentation_duties=DEFAULT_DOCUMENTATION,
            data_processing=DEFAULT_DATA_PROCESSING, framework_reference=framework,
            drafted_by_id=buyer, created_at=drafted,
            submitted_by_id=buyer if status != "draft" else None,
            reviewed_by_id=economy if status in ("reviewed", "approved", "superseded") else None,
            approved_by_id=(team.approver_id or economy) if done else None, approved_at=approved if done else None,
            document_id=f"SK-KON-{story.case_id:06d}-{number:02d}-bench" if done else None)
        for description, unit, price, quantity, supplement in lines:
            batch.add(ContractPriceLine, contract_id=contract, description=description, unit=unit, unit_price=price,
                      quantity=quantity, supplement=supplement)
        steps = [("submitted", buyer, submitted)] if status != "draft" else []
        if status in ("reviewed", "approved", "superseded"):
            steps.append(("reviewed", economy, submitted + timedelta(days=1)))
        if done:
            steps.append(("approved", team.approver_id or economy, approved))
        for action, actor, when in steps:
            batch.add(ApprovalEvent, contract_id=contract, action=action, actor_id=actor, occurred_at=when,
                      tier=self._tier(annual), annual_cost=annual)
        if done:     # the audit trail keeps every step; here the approval stands for them
            self._event(story, "contract.approved", approved, self._details(number=number),
                        ("contract_versions", contract))
        story.annual = annual
        return contract

    def _tier(self, annual: Decimal) -> str:
        """The approval tier of an annual cost: contracts.tier_for's rule, with the tiers read once."""
        for tier in self.setting.tiers:
            if tier["limit"] is None or annual <= Decimal(tier["limit"]):
                return tier["name"]
        return self.setting.tiers[-1]["name"]

    def _placement_contract(self, story: Story) -> None:
        """An approved contract with no registry behind it (bulk_placements): a made-up supplier, a price line
        by the profile of its legal basis, a supplement of extra hours on every fifth and no list price on
        every tenth."""
        rng = self.rng
        self.made_up += 1
        _basis, unit, (low, high), (few, many) = PROFILE_OF.get(story.basis, PROFILES[0])
        supplier, cvr = pick(rng, self.suppliers)
        lines = [("Takst", unit, Decimal(between(rng, low * 100, high * 100)) / 100, Decimal(between(rng, few, many)),
                  False)]
        if self.made_up % 5 == 1:
            lines.append(("Ekstra støtte", "time", EXTRA_HOUR, Decimal(between(rng, 2, 8)), True))
        annual = pricing.yearly_total(_Line(*line) for line in lines)
        # The list price is the offer's, usually a little above what was negotiated.
        listed = (annual * pick(rng, LIST_FACTORS)).quantize(pricing.ONE_ORE)
        self._contract_version(story, 1, "approved", supplier, cvr, None,
                               f"{supplier.removesuffix(' ApS')} – afdeling {between(rng, 1, 4)}",
                               "Ophold og socialpædagogisk støtte", None if self.made_up % 10 == 8 else listed,
                               lines, None)
        story.lines = lines

    # --- Stages 6 to 8: follow-ups and the ending ---

    def _follow_ups(self, story: Story, started_on: date, stage: str, long: bool) -> None:
        """The follow-ups held since the start, with goal scores; the next one open unless the case has ended.

        The first falls due `first` months after the start, each later one `then` months after the last was
        held. About one in six running placements has its last due follow-up not yet held (overdue).
        """
        rng, batch, team = self.rng, self.batch, story.team
        first, then = self.setting.intervals.get(story.basis, (3, 12))
        ended = story.entered.get("ending")
        until = clock.local_date(ended) if ended else self.today
        due = clock.add_months(started_on, first)
        held_dues = []
        while due < until:
            held_on = min(due + timedelta(days=between(rng, -10, 25)), until)
            held_dues.append((due, held_on))
            due = clock.add_months(held_on, then)
        if stage == "follow_up" and held_dues and (long or rng.random() < 0.16):
            due = held_dues.pop()[0]               # not held yet: overdue (always, on a long history)
        scores = {goal: between(rng, 0, 1) for goal, *_rest in story.goals}
        setting = "child" if LEGAL_BASES[story.basis].for_children else (
            "residence" if story.basis in ("SEL-107", "SEL-108") else "support")
        group = "child" if setting == "child" else "adult"
        period_from = started_on
        for number, (due_date, held_on) in enumerate(held_dues):
            last = number == len(held_dues) - 1 and ended is not None
            period_to = held_on.replace(day=1) - timedelta(days=1)
            owed = None
            if period_to >= period_from:
                owed = (story.annual * Decimal((period_to - period_from).days + 1) / 365).quantize(pricing.ONE_ORE)
            recorded = datetime.combine(held_on, datetime.min.time(), self.now.tzinfo) + timedelta(hours=11)
            follow_up = batch.add(
                FollowUp, case_id=story.case_id, kind="individual", due_date=due_date, held_on=held_on,
                recorded_by_id=team.owner_id, recorded_at=recorded, participants=pick(rng, PARTICIPANTS[setting]),
                citizen_view=pick(rng, CITIZEN_VIEWS[group]), notes=pick(rng, FOLLOW_UP_NOTES) or None,
                outcome="end" if last else "continue", outcome_applied=True,
                end_reason=pick(rng, END_REASONS[(setting, True)]) if last else None,
                supplier_recorded_by_id=team.economy_id or team.owner_id, supplier_recorded_at=recorded,
                reports_received=rng.random() < 0.85, quality=pick(rng, ("good", "good", "acceptable", "poor")),
                deviations=pick(rng, DEVIATIONS) if rng.random() < 0.2 else None,
                period_from=period_from if owed is not None else None, period_to=period_to if owed else None,
                invoiced=(owed * pick(rng, INVOICE_FACTORS)).quantize(pricing.ONE_ORE)
                if owed else None, contract_amount=owed)
            if owed is not None:
                period_from = period_to + timedelta(days=1)
            for position, (goal, _type, text, _measure) in enumerate(story.goals):
                scores[goal] = min(max(scores[goal] + pick(rng, (0, 1, 1, -1)), 0), 2)
                batch.add(GoalScore, follow_up_id=follow_up, goal_id=goal, position=position, goal_text=text,
                          score=SCORES[scores[goal]],
                          note=GOAL_NOTES.get(text, ("", "", ""))[scores[goal]] or None if rng.random() < 0.6 else None)
            self._event(story, "followup.recorded", recorded, self._details(outcome="end" if last else "continue"),
                        ("follow_ups", follow_up))
        cancelled = clock.local_date(ended) if ended else None
        if stage == "follow_up" or ended:
            batch.add(FollowUp, case_id=story.case_id, kind="individual", due_date=due, cancelled_on=cancelled)
        review = clock.add_months(started_on, SUPPLIER_REVIEW_MONTHS)
        while review < until - timedelta(days=20):
            held_on = review + timedelta(days=between(rng, -5, 20))
            batch.add(FollowUp, case_id=story.case_id, kind="supplier_review", due_date=review, held_on=held_on,
                      supplier_recorded_by_id=team.procurement_id or team.owner_id,
                      supplier_recorded_at=datetime.combine(held_on, datetime.min.time(), self.now.tzinfo),
                      reports_received=True, quality=pick(rng, ("good", "good", "acceptable")))
            review = clock.add_months(review, SUPPLIER_REVIEW_MONTHS)
        batch.add(FollowUp, case_id=story.case_id, kind="supplier_review", due_date=review, cancelled_on=cancelled)

    def _ending(self, story: Story, stage: str) -> None:
        """Stage 8: the end date at the end of the month the notice runs out in; closed cases have the final cost."""
        rng = self.rng
        ended = clock.local_date(story.entered["ending"])
        notice = pick(rng, (1, 3, 6))
        end_date = clock.add_months(clock.add_months(ended, notice).replace(day=1), 1) - timedelta(days=1)
        started = clock.local_date(story.entered["follow_up"])
        computed = (story.annual * Decimal((end_date - started).days + 1) / 365).quantize(pricing.ONE_ORE)
        closed = stage == "closed"
        self.batch.add(CaseEnding, case_id=story.case_id, end_date=end_date, notice_months=notice,
                       reason=pick(rng, END_REASONS[("support", True)]),
                       notice_date=clock.add_months(end_date, -notice), notice_given_on=ended + timedelta(days=2),
                       computed_cost=computed,
                       final_cost=(computed * pick(rng, FINAL_FACTORS)).quantize(pricing.ONE_ORE)
                       if closed or rng.random() < 0.5 else None,
                       recorded_by_id=story.team.economy_id or story.team.owner_id,
                       recorded_at=story.entered["ending"] + timedelta(days=1))
        self._event(story, "ending.saved", story.entered["ending"] + timedelta(days=1), NO_DETAILS)

    # --- Every case: stays, steps, comments and reads ---

    def _visits(self, story: Story, path: list[str]) -> None:
        for here, there in zip(path, [*path[1:], None], strict=True):
            left = story.entered[there] if there else None
            self.batch.add(StageVisit, case_id=story.case_id, stage=here, entered_at=story.entered[here], left_at=left)
            if there:
                self._event(story, "case.step", left, self._details(**{"from": here, "to": there}),
                            actor=story.team.owner_id)

    def _reads(self, story: Story, long: bool) -> None:
        """Comments now and then and the reads of the case: a long history has hundreds of each."""
        rng, batch, team = self.rng, self.batch, story.team
        first, last = story.entered["needs"], max(story.entered.values())
        span = max((last - first).total_seconds(), 1.0)
        comments = 150 if long else (between(rng, 1, 3) if rng.random() < 0.3 else 0)
        reads = 2000 if long else between(rng, 1, 3)
        events = 300 if long else 0
        for number in range(comments):
            when = first + timedelta(seconds=span * (number + 1) / (comments + 1))
            batch.add(CaseComment, case_id=story.case_id, author_id=pick(rng, (team.owner_id, team.procurement_id
                                                                                or team.owner_id)),
                      body=pick(rng, COMMENTS), created_at=when)
            self._event(story, "case.commented", when, NO_DETAILS)
        for number in range(events):     # the team opening, reading and changing the case over the years
            when = first + timedelta(seconds=span * (number + 1) / (events + 1))
            self._event(story, "case.changed", when, ACUTE_CHANGED[number % 2])
        for number in range(reads):
            when = first + timedelta(seconds=span * (number + 1) / (reads + 1))
            batch.add(AccessLog, occurred_at=when, user_id=team.owner_id, citizen_id=story.citizen_id,
                      case_id=story.case_id, action="case.view", purpose="Sagsside")

    def _details(self, **details) -> dict:
        """One dict for the same details (flat ones), so that the writer turns it into JSON once."""
        return self.details.setdefault(tuple(details.items()), details)

    def _event(self, story: Story, action: str, when: datetime, details: dict, obj: tuple | None = None,
               actor: int | None = None) -> None:
        object_type, object_id = obj or ("purchase_cases", story.case_id)
        self.batch.add(AuditEvent, occurred_at=when, actor_id=actor or story.team.owner_id, action=action,
                       object_type=object_type, object_id=object_id, case_id=story.case_id, details=details)


class _Line(NamedTuple):
    """A price line as pricing.yearly_total reads it."""

    description: str
    unit: str
    unit_price: Decimal
    quantity: Decimal
    supplement: bool
