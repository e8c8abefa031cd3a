"""A corpus of XSS payloads, and a world with one of them in every free-text field a person can fill.

Every payload that could run calls a marker, `__xss(ID)` or `alert(ID)`, so that a run is seen by the
browser test's recorder (tests/browser/test_xss_browser.py) and its own test proves the recorder would
see it. The text payloads (template syntax, look-alike and zero-width characters) run nothing anywhere:
they check that what is stored is shown as it was typed, never evaluated or "cleaned".

`seed_world` builds, through the same services the pages use, cases in every stage (one in the needs
assessment, one in the dialogue with a supplier link still open, one awaiting approval after a
rejection, a running placement, an ended one, a cancelled one), the offers and suppliers (by hand and
by CSV import), users, a unit, approval tiers and an API token, each text field with its own payload.
`World.values` says which field got which text: the payload and a short tag (`~07`), so that each
field is found on a page on its own.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from tests.factories import next_cpr
from workflow.extensions import db
from workflow.models import Offer, OfferImport, PurchaseCase, Supplier
from workflow.process import Event, Stage
from workflow.services import (
    api_tokens,
    cases,
    contracts,
    dialogue,
    followup,
    mail,
    needs,
    offer_import,
    registry,
    settings,
    shortlist,
    transitions,
)
from workflow.services import users as user_service

MARKUP = "markup"    # puts an element, an attribute or a script into a page if it is ever written unescaped
TEXT = "text"        # no markup at all: must simply be shown as typed (and never evaluated)


@dataclass(frozen=True)
class Payload:
    id: int
    text: str
    kind: str = MARKUP
    runs: bool = True     # calls its marker by itself once written unescaped (no click needed)


_LONG_FILLER = " ".join(f"Afsnit {n}: borgeren har brug for fast struktur, guidning og genkendelige rammer."
                        for n in range(1, 20))
PAYLOADS: tuple[Payload, ...] = (
    Payload(1, "<script>__xss(1)</script>"),
    Payload(2, "<img src=x onerror=__xss(2)>"),
    Payload(3, "<svg onload=alert(3)>"),
    Payload(4, "<details open ontoggle=__xss(4)>"),
    Payload(5, '<a href="javascript:__xss(5)">Klik her</a>', runs=False),
    Payload(6, '"><img src=x onerror=alert(6)>'),                     # out of a double-quoted attribute
    Payload(7, "'><svg onload=__xss(7)>"),                            # out of a single-quoted attribute
    Payload(8, '" autofocus onfocus="__xss(8)" x="'),                 # a new attribute, no tag needed
    Payload(9, "' autofocus onfocus='__xss(9)' x='"),
    Payload(10, "{{7*7}} {{ config }} ${7*7} #{7*7} <%= 7*7 %>", TEXT, runs=False),   # template injection
    Payload(11, "</textarea><script>__xss(11)</script>"),
    Payload(12, '<iframe srcdoc="<script>parent.__xss(12)</script>"></iframe>'),
    Payload(13, '<p style="width:expression(__xss(13))">css</p>', runs=False),      # old IE's CSS expression
    Payload(14, "</title></style><script>__xss(14)</script>"),
    Payload(15, "--><script>__xss(15)</script><!--"),
    Payload(16, "<scr\u200bipt>__xss(16)</scr\u200bipt> a\u200bb\u200dc\ufeff", TEXT, runs=False),   # zero-width
    Payload(17, "\uff1cscript\uff1e__xss(17)\uff1c/script\uff1e", TEXT, runs=False),     # full-width look-alikes
    Payload(18, "\u2028<img src=x onerror=__xss(18)>\u2029"),
    Payload(19, "[klik](javascript:__xss(19)) ![x](x\" onerror=\"__xss(19))", runs=False),    # markdown
    Payload(20, "<math><mtext><table><mglyph><style><img src=x onerror=__xss(20)>", runs=False),  # mutation XSS
    Payload(21, '<a href="jav&#x09;ascript:__xss(21)">x</a>', runs=False),
    Payload(22, "<input autofocus onfocus=__xss(22)>"),
    Payload(23, '<img src="http://127.0.0.1:9/xss-probe-23"><link rel=stylesheet href="file:///etc/passwd">',
            runs=False),                                                # fetches: seen as requests
    Payload(24, '<object data="file:///etc/passwd"></object><base href="//127.0.0.1:9/">', runs=False),
    Payload(25, '=HYPERLINK("http://127.0.0.1:9/xss","<img src=x onerror=__xss(25)>")'),  # a formula, too
    Payload(26, f"<img src=x onerror=__xss(26)> {_LONG_FILLER}"),      # very long
)
BY_ID = {payload.id: payload for payload in PAYLOADS}
assert len(BY_ID) == len(PAYLOADS)

# Spreadsheet formulas (OWASP CSV injection); 25 above is one too, with markup inside.
FORMULAS: tuple[str, ...] = ('=HYPERLINK("http://127.0.0.1:9/x","klik")', "+SUM(1+1)", "-2+3",
                             "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\uff1d1+1")

MARKER_CALL = re.compile(r"(?:__xss|alert)\((\d+)\)")


def flat(text: str) -> str:
    """Whitespace as a browser lays text out: any run of it is one space (line separators included)."""
    return " ".join(text.split())


class Hostile:
    """Hands out a payload for each field in turn, each tagged (`~07`) so that a field is found on its own."""

    def __init__(self):
        self.values: dict[str, str] = {}
        self._tags = itertools.count(1)
        self._order = itertools.cycle(PAYLOADS)

    def __call__(self, name: str, limit: int = 2000, payload: int | None = None, avoid: str = "") -> str:
        """The next payload (or the one given) that fits in `limit` characters with its tag, for field `name`."""
        assert name not in self.values, name
        tag = f" ~{next(self._tags):02d}"
        if payload is not None:
            text = BY_ID[payload].text
        else:
            text = next(candidate.text for candidate in itertools.islice(self._order, 3 * len(PAYLOADS))
                        if len(candidate.text) + len(tag) <= limit and not (avoid and re.search(avoid, candidate.text)))
        value = f"{text}{tag}"
        assert len(value) <= limit, (name, value)
        self.values[name] = value
        return value


@dataclass
class World:
    """What seed_world built: ids to visit, the supplier's open link, and each field's text."""
    values: dict[str, str]
    in_needs: int = 0           # case in the needs stage: its assessment still editable
    awaiting: int = 0           # case awaiting approval: its terms were rejected once and submitted again
    running: int = 0            # case in follow-up: the contract was rejected once, then approved
    ended: int = 0              # case in its ending
    in_dialogue: int = 0        # case in the dialogue, one reply still to come through `reply_token`
    cancelled: int = 0
    offers: list[int] = field(default_factory=list)
    suppliers: list[int] = field(default_factory=list)
    imported_offer: int = 0
    import_preview: int = 0     # an uploaded file not yet imported
    reply_token: str = ""
    reply_inquiry: int = 0      # ... its inquiry
    replied_inquiry: int = 0    # the dialogue case's other inquiry, answered with payloads
    follow_up: int = 0          # the running case's held follow-up (with its supplier side)
    today: date = field(default_factory=date.today)

    def __getitem__(self, name: str) -> str:
        return self.values[name]


def _summary_stub(case, contract) -> bytes:
    """Approval archives the summary PDF; rendering it is tests/test_pdf_xss.py's business (and takes time)."""
    return b"%PDF-1.7 not rendered here: tests/test_pdf_xss.py renders the summary"


def _people(h: Hostile, staff) -> None:
    for login in ("caseworker", "procurement", "economy", "manager"):
        user = staff[login]
        user_service.update_user(user, version=None, full_name=h(f"user.{login}", 200), email=user.email,
                                 role=user.role, unit=user.unit, approval_limit=user.approval_limit, active=True)
    unit = staff.caseworker.unit
    user_service.update_unit(unit, version=None, name=h("unit.name", 120), active=True)
    api_tokens.create(staff.caseworker, h("token.name", 80), None, date.today())
    tiers = [{"name": h("tier.1", 80), "limit": "500000.00"}, {"name": h("tier.2", 80), "limit": "2000000.00"},
             {"name": h("tier.3", 80), "limit": None}]
    settings.change("approval_tiers", tiers)


def _registry(h: Hostile, today: date) -> tuple[list[Offer], list[Supplier]]:
    offers, suppliers = [], []
    for n, (price, cvr) in enumerate(((Decimal("2450.00"), "39000001"), (Decimal("2600.00"), "39000002")), start=1):
        supplier = registry.create_supplier(registry.SupplierInput(
            cvr=cvr, supplier_type="privat", contact_email=f"tilbud{n}@leverandoer.example",
            # The chosen supplier's name is a formula as well: it reaches the portfolio's CSV and XLSX.
            name=h(f"supplier{n}.name", 200, payload=25 if n == 1 else None),
            address=h(f"supplier{n}.address", 300), contact_name=h(f"supplier{n}.contact_name", 200),
            contact_phone=h(f"supplier{n}.contact_phone", 40), notes=h(f"supplier{n}.notes", 5000)))
        offers.append(registry.create_offer(supplier, registry.OfferInput(
            key=h(f"offer{n}.key", 40), name=h(f"offer{n}.name", 200), address=h(f"offer{n}.address", 300),
            municipality="101", list_price=price, price_unit="døgn", price_effective_from=date(2026, 1, 1),
            approval_status="approved", approved_on=date(2019, 3, 15), data_updated_on=today - timedelta(days=30),
            legal_bases=["SEL-108"], target_groups=["intellectual_disability"],
            service_types=["residence", "socio_educational_support"], places=10, vacancies=2,
            framework_agreement=True, framework_name=h(f"offer{n}.framework_name", 200),
            quality_note=h(f"offer{n}.quality_note", 5000)), today))
        suppliers.append(supplier)
    return offers, suppliers


def import_file(h: Hostile, prefix: str, cvr: str) -> str:
    """A registry file of one offer whose texts are payloads (written with the csv module: quotes and all)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(offer_import.COLUMNS)
    writer.writerow([h(f"{prefix}.key", 40), cvr, h(f"{prefix}.supplier_name", 200), "", "privat",
                     h(f"{prefix}.offer_name", 200), h(f"{prefix}.address", 300), "101", "SEL-108",
                     "intellectual_disability", "residence", "8", "1", "2.300,00", "døgn", "01-01-2026", "godkendt",
                     "15-03-2019", "ja", h(f"{prefix}.framework_name", 200), "01-11-2026",
                     h(f"{prefix}.quality_note", 5000)])
    return buffer.getvalue()


def _imports(h: Hostile, staff) -> tuple[Offer, OfferImport]:
    applied = offer_import.store_for_preview(h("import1.filename", 200, payload=2),
                                             import_file(h, "import1", "39000003"), staff.procurement)
    offer_import.apply_stored(applied, staff.procurement)
    preview = offer_import.store_for_preview(h("import2.filename", 200, payload=7),
                                             import_file(h, "import2", "39000004"), staff.procurement)
    offer = db.session.scalar(db.select(Offer).where(Offer.key == h.values["import1.key"]))
    return offer, preview


def _assessment(h: Hostile, prefix: str, staff) -> needs.AssessmentInput:
    return needs.AssessmentInput(
        support_need="high", expected_duration=h(f"{prefix}.expected_duration", 200),
        wishes=h(f"{prefix}.wishes", 5000), special_conditions=h(f"{prefix}.special_conditions", 5000),
        required_hours_per_week=None, consent_to_contact_suppliers=True, consent_date=date(2026, 11, 1),
        child_investigation_date=None, decision_date=date(2026, 11, 2), decided_by=staff.caseworker,
        themes={"practical_tasks": (3, h(f"{prefix}.theme1", 5000)), "self_care": (2, h(f"{prefix}.theme2", 5000))},
        goals=[needs.GoalInput("develop", h(f"{prefix}.goal1", 2000), h(f"{prefix}.measure1", 500)),
               needs.GoalInput("maintain", h(f"{prefix}.goal2", 2000), h(f"{prefix}.measure2", 500))])


def _assessed_case(h: Hostile, prefix: str, staff, offers: list[Offer]) -> PurchaseCase:
    """A case with a hostile citizen name, needs assessment, comment and shortlist, in the market scan."""
    # Payload 3: the requirement must not name the citizen, and _in_dialogue keeps the name's words out of it.
    case = cases.open_case(
        staff.caseworker, cpr_text=next_cpr(), citizen_name=h(f"{prefix}.citizen_name", 200, payload=3),
        home_municipality="101", legal_basis="SEL-108", target_group="intellectual_disability", acute=False,
        desired_start=date(2027, 3, 1), budget_frame=Decimal("1000000"), procurement=staff.procurement,
        economy=staff.economy)
    needs.save_assessment(case, cases.current_assessment(case), version=None, actor=staff.caseworker,
                          data=_assessment(h, prefix, staff))
    cases.add_comment(case, staff.caseworker, h(f"{prefix}.comment", 5000))
    transitions.take_step(case, Event.COMPLETE_ASSESSMENT, staff.caseworker)
    for n, offer in enumerate(offers, start=1):
        shortlist.add(case, offer, staff.caseworker, h(f"{prefix}.shortlist_note{n}", 2000), score=80 - n)
    return case


def _reply(h: Hostile, prefix: str, price: Decimal) -> dialogue.ReplyInput:
    return dialogue.ReplyInput(
        can_deliver=True, earliest_start=date(2027, 4, 1),
        lines=[dialogue.PriceLineInput(h(f"{prefix}.line", 200), "døgn", price, Decimal(1))],
        additional_services=h(f"{prefix}.additional_services", 2000), conditions=h(f"{prefix}.conditions", 5000),
        contact_name=h(f"{prefix}.contact_name", 200), contact_email="svar@leverandoer.example",
        contact_phone=h(f"{prefix}.contact_phone", 40))


def _in_dialogue(h: Hostile, prefix: str, case: PurchaseCase, staff, today: date) -> list:
    """Requirement saved and both shortlisted offers asked; returns the inquiries, in the shortlist's order."""
    transitions.take_step(case, Event.START_DIALOGUE, staff.caseworker)
    name_words = "|".join(re.escape(word) for word in case.citizen.name.lower().split() if len(word) > 2)
    texts = {name: h(f"{prefix}.requirement.{name}", limit, avoid=name_words) for name, limit in (
        ("age_band", 40), ("functional_summary", 5000), ("goals", 5000), ("services", 2000),
        ("special_conditions", 5000))}
    dialogue.save_requirement(case, staff.procurement, None, age_band_text=texts["age_band"],
                              functional_summary=texts["functional_summary"], support_need="high",
                              goals=texts["goals"], services=texts["services"], hours_per_week=None,
                              desired_start=date(2027, 3, 1), special_conditions=texts["special_conditions"],
                              today=today)
    offer_ids = [entry.offer_id for entry in shortlist.entries(case)]
    asked = dialogue.send_inquiries(case, staff.procurement, offer_ids, dialogue.default_deadline(today),
                                    sealed=False, today=today)
    by_offer = {inquiry.offer_id: inquiry for inquiry in asked}
    return [by_offer[offer_id] for offer_id in offer_ids]


def _terms(h: Hostile, prefix: str, contract) -> contracts.TermsInput:
    return contracts.TermsInput(
        acting_municipality=h(f"{prefix}.acting_municipality", 100), acting_contact=h(f"{prefix}.acting_contact", 200),
        paying_municipality=h(f"{prefix}.paying_municipality", 100),
        supplier_contact=h(f"{prefix}.supplier_contact", 300), primary_service=h(f"{prefix}.primary_service", 2000),
        further_services=h(f"{prefix}.further_services", 2000), goals=h(f"{prefix}.goals", 5000),
        price_regulation=h(f"{prefix}.price_regulation", 200), absence_rules=h(f"{prefix}.absence_rules", 3000),
        documentation_duties=h(f"{prefix}.documentation_duties", 3000),
        data_processing=h(f"{prefix}.data_processing", 3000),
        framework_reference=h(f"{prefix}.framework_reference", 200),
        start_date=contract.start_date, notice_months=3, payment_terms=contract.payment_terms,
        payment_days=contract.payment_days, duration_months=60,
        lines=[contracts.LineInput(h(f"{prefix}.line1", 200), "døgn", Decimal("2450.50"), Decimal(1)),
               contracts.LineInput(h(f"{prefix}.line2", 200), "måned", Decimal("1000.00"), Decimal(1), True)])


def _drafted(h: Hostile, prefix: str, staff, offers: list[Offer], today: date):
    """A case with its terms drafted from the chosen reply, saved, and rejected once: (case, draft contract)."""
    case = _assessed_case(h, prefix, staff, offers)
    first, second = _in_dialogue(h, prefix, case, staff, today)
    dialogue.submit_reply(first, _reply(h, f"{prefix}.reply1", Decimal("2450.50")), today)
    dialogue.submit_reply(second, _reply(h, f"{prefix}.reply2", Decimal("2700.00")), today)
    dialogue.add_note(case, first, staff.procurement, h(f"{prefix}.negotiation_note", 5000))
    dialogue.choose(case, first, staff.procurement, h(f"{prefix}.justification", 5000), today)
    contract = contracts.draft_from_choice(case, staff.procurement, today)
    contracts.save_terms(case, contract, staff.procurement, None, _terms(h, f"{prefix}.terms", contract))
    contracts.submit(case, contract, staff.procurement)
    contracts.review(case, contract, staff.economy)
    contracts.reject(case, contract, staff.manager, h(f"{prefix}.rejection_reason", 3000))
    return case, contract


def _placed(h: Hostile, prefix: str, staff, offers: list[Offer], today: date, started_on: date,
            render) -> PurchaseCase:
    """A case walked on to its running placement: the rejected terms submitted again and approved, delivery."""
    case, contract = _drafted(h, prefix, staff, offers, today)
    contracts.submit(case, contract, staff.procurement)
    contracts.review(case, contract, staff.economy)
    contracts.approve(case, contract, staff.manager, render=render)
    followup.start_delivery(case, staff.caseworker, started_on, today)
    assert case.stage == Stage.FOLLOW_UP
    return case


def _scores(h: Hostile, prefix: str, case: PurchaseCase) -> list[followup.GoalScoreInput]:
    goals = sorted(cases.current_assessment(case).goals, key=lambda goal: goal.position)
    return [followup.GoalScoreInput(goal.id, "partly", h(f"{prefix}.goal_note{n}", 500))
            for n, goal in enumerate(goals, start=1)]


def seed_world(staff, *, render=_summary_stub, today: date | None = None) -> World:
    """Everything, committed. Runs in an app context inside a request (links in mails, the PDF)."""
    today = today or date.today()
    h = Hostile()
    _people(h, staff)
    offers, suppliers = _registry(h, today)
    imported, preview = _imports(h, staff)
    world = World(values=h.values, today=today, offers=[offer.id for offer in offers],
                  suppliers=[supplier.id for supplier in suppliers], imported_offer=imported.id,
                  import_preview=preview.id)

    in_needs = cases.open_case(
        staff.caseworker, cpr_text=next_cpr(), citizen_name=h("needs.citizen_name", 200, payload=6),
        home_municipality="101", legal_basis="SEL-108", target_group="intellectual_disability", acute=False,
        desired_start=None, budget_frame=None)
    needs.save_assessment(in_needs, cases.current_assessment(in_needs), version=None, actor=staff.caseworker,
                          data=_assessment(h, "needs", staff))
    world.in_needs = in_needs.id
    awaiting, contract = _drafted(h, "awaiting", staff, offers, today)
    contracts.submit(awaiting, contract, staff.procurement)
    contracts.review(awaiting, contract, staff.economy)
    world.awaiting = awaiting.id

    running = _placed(h, "running", staff, offers, today, today - timedelta(days=120), render)
    held = followup.record(running, staff.caseworker, followup.FollowUpInput(
        held_on=today - timedelta(days=10), participants=h("running.participants", 1000),
        citizen_view=h("running.citizen_view", 3000), notes=h("running.followup_notes", 3000), outcome="continue",
        scores=_scores(h, "running", running)), today)
    followup.record_supplier_side(running, held, staff.procurement, followup.SupplierSideInput(
        reports_received=True, quality="good", deviations=h("running.deviations", 3000),
        incidents=h("running.incidents", 3000)), today)
    world.running, world.follow_up = running.id, held.id

    ended = _placed(h, "ended", staff, offers, today, today - timedelta(days=200), render)
    followup.record(ended, staff.caseworker, followup.FollowUpInput(
        held_on=today - timedelta(days=5), participants=h("ended.participants", 1000), citizen_view="",
        outcome="end", end_date=today + timedelta(days=60), end_reason=h("ended.end_reason", 2000),
        scores=_scores(h, "ended", ended)), today)
    assert ended.stage == Stage.ENDING
    followup.save_ending(ended, staff.caseworker, followup.EndingInput(
        end_date=today + timedelta(days=60), reason=h("ended.ending_reason", 2000), final_cost=None))
    world.ended = ended.id

    in_dialogue = _assessed_case(h, "dialogue", staff, offers)
    first, second = _in_dialogue(h, "dialogue", in_dialogue, staff, today)
    dialogue.submit_reply(second, _reply(h, "dialogue.reply2", Decimal("2650.00")), today)
    dialogue.add_note(in_dialogue, second, staff.caseworker, h("dialogue.negotiation_note", 5000))
    db.session.commit()                                                  # the links are mailed once committed
    links = (re.search(r"/reply/([A-Za-z0-9_-]{20,})", message.get_content()) for message in mail.outbox_messages())
    world.reply_token = next(link.group(1) for link in links
                             if link and getattr(dialogue.by_token(link.group(1)), "id", None) == first.id)
    world.in_dialogue, world.reply_inquiry, world.replied_inquiry = in_dialogue.id, first.id, second.id

    cancelled = cases.open_case(
        staff.caseworker, cpr_text=next_cpr(), citizen_name=h("cancelled.citizen_name", 200, payload=8),
        home_municipality="101", legal_basis="SEL-108", target_group="intellectual_disability", acute=False,
        desired_start=None, budget_frame=None)
    transitions.take_step(cancelled, Event.CANCEL, staff.caseworker, reason=h("cancelled.reason", 2000))
    world.cancelled = cancelled.id
    db.session.commit()
    return world


def markers_in(text: str) -> set[int]:
    """The ids of the marker calls in a text (to tell which payload a recorded run came from)."""
    return {int(found) for found in MARKER_CALL.findall(text)}

