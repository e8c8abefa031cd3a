"""The access matrix: every route of the app map × every role × another unit's objects, and the wrong role.

1. Across units. The `staff` fixture has two units. A whole unit-2 "world" is built through the services
   (cases in every stage with a needs assessment, a shortlist entry, inquiries and replies, contracts with
   price lines submitted, reviewed and approved, follow-ups and an ending; an offer import, an API token).
   Every unit-1 user then calls every route of the app map with each URL argument filled with the unit-2
   object it names: GET, and POST (pages, with a valid CSRF token and the form the rightful unit-2 user is
   shown) or the API's writes (bearer token, a body valid for the schema, `If-Match: *`). Nothing may answer
   with anything but a refusal, show a unit-2 case number, citizen name or CPR number, or change the database
   (row counts and a checksum of every table). Who may see what is the code's rule (PurchaseCase.can_view:
   caseworkers and managers their unit's cases; procurement and economy the cases they are on; DOMAIN.md
   "Roles"); the routes that are shared across units on purpose are in SHARED, each with its reason.
2. The wrong role in the same unit. Every write of the app map on a unit-1 object, by each unit-1 user who
   may not do it, must change nothing. Who may is MAY below: the role the process gives the step
   (workflow/process.py: a transition's roles, or a stage's lead and collaborators) and the app's own
   predicate about the object (on the case, the right stage). A control then shows that the same data,
   sent by someone allowed, does save: the refusals are the rules' doing, not bad data's.

Each route is called where it does something for someone: the survey walks the app map as the world's own
users first, and keeps a few calls of each kind (the latest stages first) and the forms they are shown.
Failures are collected and reported as one list of "role method route → status: what went wrong".
"""
from __future__ import annotations

import hashlib
import io
import itertools
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import event, select
from werkzeug.datastructures import MultiDict

from tests.conftest import Staff, csrf_token, is_api
from tests.factories import assess, make_case, to_market_scan
from tests.support.api import ApiClient
from tests.support.running import follow_up_input
from workflow.api.cases import OWN_ENDPOINTS
from workflow.api.dialogue import INQUIRY_ACTIONS
from workflow.cases.views import OWN_PAGES
from workflow.contracts.views import STEPS as CONTRACT_STEPS
from workflow.extensions import db
from workflow.models import PurchaseCase, Role
from workflow.process import STAGES, Event, Stage, transition_for
from workflow.security import STAFF
from workflow.services import (
    api_tokens,
    contracts,
    dialogue,
    followup,
    offer_import,
    registry,
    shortlist,
    transitions,
)
from workflow.services.cases import current_assessment
from workflow.services.registry import OfferInput, SupplierInput

pytestmark = pytest.mark.slow

TODAY = date.today()
EXAMPLE_CSV = Path(__file__).resolve().parents[1] / "data" / "offers-example.csv"
OTHER = "Fremmedsen"      # the surname of every unit-2 citizen: never on a unit-1 user's page
OWN = "Egensen"
_serials = itertools.count(1)


# --- A unit's world: its cases in every stage and the rows around them ------------------------------------------

def unit_staff(staff: Staff, suffix: str) -> Staff:
    """The users of one unit of the `staff` fixture by role, so that builders written for staff.caseworker etc.
    build in that unit."""
    return Staff({role.value: staff[f"{role.value}{suffix}"] for role in Role})


@dataclass
class World:
    people: Staff
    unit_id: int
    cases: dict[str, int] = field(default_factory=dict)     # what the case shows (its stage) → case id
    inquiries: list[tuple[int, int]] = field(default_factory=list)   # (case id, inquiry id)
    entries: list[tuple[int, int]] = field(default_factory=list)     # (case id, shortlist entry id)
    follow_ups: list[tuple[int, int]] = field(default_factory=list)  # (case id, follow-up id)
    offers: list[int] = field(default_factory=list)
    suppliers: list[int] = field(default_factory=list)
    import_id: int = 0
    token_id: int = 0
    cprs: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)   # text that identifies this unit's citizens and cases


def _unrendered(case, contract) -> bytes:
    """Approval archives the summary PDF; rendering it is test_contracts.py's business, and slow."""
    return b"%PDF-1.7 not rendered in the access matrix"


def make_offers(tag: str) -> list:
    """Three approved § 108 offers of three suppliers in the registry."""
    made = []
    for name, price in (("Solhøj", Decimal("2500.00")), ("Egely", Decimal("2600.00")), ("Lærkely", Decimal("2700"))):
        serial = next(_serials)
        supplier = registry.create_supplier(SupplierInput(
            cvr=f"{41000000 + serial}", name=f"{name} ApS {tag}", supplier_type="privat",
            contact_email=f"tilbud{serial}@leverandoer.example"))
        made.append(registry.create_offer(supplier, OfferInput(
            key=f"AM-{serial}", name=f"{name} {tag}", municipality="101", list_price=price, price_unit="døgn",
            price_effective_from=date(2026, 1, 1), approval_status="approved",
            data_updated_on=TODAY - timedelta(days=30), legal_bases=["SEL-108"],
            target_groups=["intellectual_disability"], service_types=["residence", "socio_educational_support"],
            places=10, vacancies=2, approved_on=date(2019, 3, 15)), TODAY))
    db.session.commit()
    return made


def _open(people: Staff, world: World, stage: str, surname: str) -> PurchaseCase:
    case = make_case(people.caseworker, procurement=people.procurement, economy=people.economy,
                     name=f"{stage.title()} {surname}")
    world.cases[stage] = case.id
    world.cprs.append(case.citizen.cpr)
    world.markers += [case.number, case.citizen.cpr]
    return case


def _in_dialogue(app, people: Staff, world: World, offers, stage: str, surname: str):
    """Assessed, three offers shortlisted, the requirement saved, two of them asked, both replied."""
    case = _open(people, world, stage, surname)
    assess(case, people.caseworker)
    transitions.take_step(case, Event.COMPLETE_ASSESSMENT, people.caseworker)
    for offer in offers:
        shortlist.add(case, offer, people.caseworker, "Relevant tilbud")
    transitions.take_step(case, Event.START_DIALOGUE, people.caseworker)
    draft = dialogue.draft_requirement(case, TODAY)
    dialogue.save_requirement(case, people.procurement, None, age_band_text=draft.age_band,
                              functional_summary=draft.functional_summary, support_need=draft.support_need,
                              goals=draft.goals, services=draft.services, hours_per_week=draft.hours_per_week,
                              desired_start=draft.desired_start, special_conditions="", today=TODAY)
    with app.test_request_context():
        asked = dialogue.send_inquiries(case, people.procurement, [offer.id for offer in offers[:2]],
                                        dialogue.default_deadline(TODAY), sealed=False, today=TODAY)
    for inquiry, price in zip(asked, (Decimal("2450.50"), Decimal("2750.00")), strict=True):
        dialogue.submit_reply(inquiry, dialogue.ReplyInput(
            can_deliver=True, earliest_start=TODAY + timedelta(days=60),
            lines=[dialogue.PriceLineInput("Døgntakst", "døgn", price, Decimal(1))],
            additional_services="Ledsagelse", contact_name="Lise Leverandør",
            contact_email="lise@leverandoer.example", contact_phone="12345678"), TODAY)
    db.session.commit()
    world.inquiries += [(case.id, inquiry.id) for inquiry in asked]
    return case, asked


def build_world(app, people: Staff, surname: str) -> World:
    """One unit's cases in every stage of the process, built through the services the pages use."""
    world = World(people=people, unit_id=people.caseworker.unit_id, markers=[surname])
    offers = make_offers(surname[:4])
    world.offers = [offer.id for offer in offers]
    world.suppliers = [offer.supplier_id for offer in offers]

    assess(_open(people, world, "needs", surname), people.caseworker)

    scan = _open(people, world, "market_scan", surname)
    to_market_scan(scan, people.caseworker)
    entry = shortlist.add(scan, offers[0], people.caseworker, "Tæt på familien")
    db.session.commit()
    world.entries.append((scan.id, entry.id))

    _in_dialogue(app, people, world, offers, "dialogue", surname)

    later = ("terms", "approval", "approval_reviewed", "delivery", "follow_up", "ending")
    for index, stage in enumerate(later):
        case, asked = _in_dialogue(app, people, world, offers, stage, surname)
        dialogue.choose(case, asked[0], people.procurement, "", TODAY)
        contract = contracts.draft_from_choice(case, people.procurement, TODAY)
        db.session.commit()
        if index >= 1:
            contracts.submit(case, contract, people.procurement)
        if index >= 2:
            contracts.review(case, contract, people.economy)
        if index >= 3:
            contracts.approve(case, contract, people.manager, render=_unrendered)
        if index >= 4:
            followup.start_delivery(case, people.caseworker, TODAY - timedelta(days=30), TODAY)
        if index >= 5:
            followup.record(case, people.caseworker, follow_up_input(
                case, TODAY, "end", end_date=TODAY + timedelta(days=90), end_reason="Flytter"), TODAY)
        db.session.commit()
        world.follow_ups += [(case.id, row.id) for row in followup.follow_ups(case)]

    batch = offer_import.store_for_preview("tilbud.csv", EXAMPLE_CSV.read_text(encoding="utf-8"), people.procurement)
    world.import_id = batch.id
    world.token_id = api_tokens.create(people.caseworker, "ESDH", None, TODAY).token.id
    db.session.commit()
    for stage, case_id in world.cases.items():
        assert db.session.get(PurchaseCase, case_id).stage == Stage(stage.removesuffix("_reviewed")), stage
    return world


# --- The database: a fingerprint of every table, and every write the app commits --------------------------------

VOLATILE = {"user_sessions": None, "login_attempts": None, "api_tokens": {"last_used_at"}}  # None: the whole table


def fingerprint() -> dict[str, tuple[int, str]]:
    """Each table's (row count, SHA-256 of its rows), read on a connection of its own (so never a stale view).

    Sign-in bookkeeping (sessions, failed attempts, a token's last use) changes on every request and is left out.
    """
    result = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            ignored = VOLATILE.get(table.name, set())
            if ignored is None:
                continue
            columns = [column for column in table.columns if column.name not in ignored]
            rows = connection.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            result[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return result


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in after if before.get(name) != after[name])


class WriteWatch:
    """The INSERTs, UPDATEs and DELETEs the app commits, by table (sign-in bookkeeping left out).

    Cheap enough to ask after every single request, and it says which table; fingerprint() still compares
    every table before and after each user's whole sweep.
    """

    STATEMENT = re.compile(r'\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
    TOKEN_TOUCH = re.compile(r"\s*UPDATE api_tokens SET last_used_at=[^,]+ WHERE", re.IGNORECASE)  # nothing else set

    def __init__(self):
        self.pending: list[str] = []
        self.committed: list[str] = []

    def __enter__(self) -> WriteWatch:
        for name, listener in self._listeners():
            event.listen(db.engine, name, listener)
        return self

    def __exit__(self, *exc) -> None:
        for name, listener in self._listeners():
            event.remove(db.engine, name, listener)

    def _listeners(self):
        return (("before_cursor_execute", self._statement), ("commit", self._commit), ("rollback", self._rollback))

    def _statement(self, connection, cursor, statement, parameters, context, executemany) -> None:
        match = self.STATEMENT.match(statement)
        if match and VOLATILE.get(match.group(2), set()) is not None and not self.TOKEN_TOUCH.match(statement):
            self.pending.append(f"{match.group(1).split()[0].upper()} {match.group(2)}")

    def _commit(self, connection) -> None:
        self.committed += self.pending
        self.pending = []

    def _rollback(self, connection) -> None:
        self.pending = []

    def take(self) -> list[str]:
        """The writes committed since the last call, each table once."""
        done, self.committed, self.pending = sorted(set(self.committed)), [], []
        return done


# --- Forms as the browser sends them ------------------------------------------------------------------------------

@dataclass
class FormField:
    name: str
    value: str
    kind: str          # the input's type, or "textarea" / "select"
    options: tuple[str, ...] = ()   # a select's choices


class _FormParser(HTMLParser):
    """The POST forms of a page with the values a browser would send unchanged (no buttons, no files)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str | None, list[FormField]]] = []
        self._fields: list[FormField] | None = None
        self._radios: dict[str, str] = {}
        self._textarea: FormField | None = None
        self._select: dict | None = None
        self._option: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._fields, self._radios = [], {}
            if (attributes.get("method") or "get").lower() == "post":
                self.forms.append((attributes.get("action"), self._fields))
            return
        if self._fields is None or "disabled" in attributes:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    self._fields.append(FormField(name, attributes.get("value", "on"), kind))
                    self._radios[name] = ""
                elif kind == "radio":
                    self._radios.setdefault(name, attributes.get("value", "on"))
                return
            self._fields.append(FormField(name, attributes.get("value", ""), kind))
        elif tag == "textarea" and name:
            self._textarea = FormField(name, "", "textarea")
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in attributes, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": attributes.get("value"), "text": "", "selected": "selected" in attributes}

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data
        if self._option is not None:
            self._option["text"] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            self._fields.append(self._textarea)
            self._textarea = None
        elif tag == "option" and self._option is not None:
            option = self._option
            self._select["options"].append((option["text"] if option["value"] is None else option["value"],
                                            option["selected"]))
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._select["options"] if selected]
            if not chosen and not self._select["multiple"] and self._select["options"]:
                chosen = [self._select["options"][0][0]]
            options = tuple(value for value, _selected in self._select["options"])
            self._fields += [FormField(self._select["name"], value, "select", options) for value in chosen]
            self._select = None
        elif tag == "form" and self._fields is not None:
            self._fields += [FormField(name, value, "radio") for name, value in self._radios.items() if value]
            self._fields = None


def post_forms(html: str, page_url: str) -> dict[str, list[FormField]]:
    """The page's POST forms by the path they post to (the first form for a path)."""
    parser = _FormParser()
    parser.feed(html)
    found: dict[str, list[FormField]] = {}
    for action, fields in parser.forms:
        found.setdefault(urlsplit(action or page_url).path, fields)
    return found


# What an empty field gets, by its name, and the free text a write would change: the form as shown, posted
# back unchanged, would often save nothing even where the write is allowed, and "nothing changed" would
# prove nothing.
CHANGED_TEXT = "Adgangstest"
FILLED = {
    **dict.fromkeys(("reason", "body", "note", "text", "justification", "participants", "citizen_view",
                     "contact_name", "name", "citizen_name"), CHANGED_TEXT),
    "cpr": "010190-4321",
    "description": "Døgntakst", "unit_price": "2.450,00", "quantity": "1",
    "earliest_start": (TODAY + timedelta(days=60)).strftime("%d-%m-%Y"),
    "started_on": (TODAY - timedelta(days=1)).strftime("%d-%m-%Y"),
}


def filled(fields: list[FormField]) -> list[tuple[str, str]]:
    """The form's values with its free text changed and its empty fields filled (or, when that changes
    nothing, its first choice turned to the next), without the CSRF token of whoever was shown it."""
    values, changed = [], False
    for item in fields:
        value, short = item.value, item.name.rsplit("-", 1)[-1]
        if item.kind == "textarea":
            value = f"{value.strip()} {CHANGED_TEXT}".strip()
        elif item.kind in ("text", "email", "tel", "number") and not value and short in FILLED:
            value = FILLED[short]
        elif item.kind == "select" and not value and any(item.options):
            value = next(option for option in item.options if option)   # past the "Choose …" placeholder
        changed = changed or value != item.value
        if item.name != "csrf_token":
            values.append((item.name, value))
    choice = next((item for item in fields if item.kind == "select" and len(set(item.options)) > 1), None)
    if not changed and choice is not None:
        turned = choice.options[(choice.options.index(choice.value) + 1) % len(choice.options)]
        values = [(name, turned if name == choice.name else value) for name, value in values]
    return values


# --- The app map: routes and the objects that fill their URLs -----------------------------------------------------

# Never called here: they sign the test's own clients in or out, change the session's language or answer
# anonymous callers only; the supplier's reply page takes a secret link, not an object of a unit (its tokens
# are tested in tests/test_dialogue.py).
UNTOUCHED = {"static", "auth.login", "auth.logout", "auth.language", "main.healthz", "supplier_reply.reply"}
# The values of string arguments that are not an <any(...)>: the app's own lists.
CHOICES = {
    ("cases.take_step", "event"): [str(event) for event in Event],
    ("contracts.decide_step", "action"): list(CONTRACT_STEPS),
    ("dialogue.inquiry_action", "action"): ["note", *INQUIRY_ACTIONS],
}
CHILDREN = ("follow_up_id", "inquiry_id", "entry_id")   # rows of a case: their URL names the case too
SINGLES = ("offer_id", "supplier_id", "import_id", "user_id", "unit_id", "token_id")   # objects of their own
DOWNLOADS = (".pdf", ".csv", ".xlsx")


def _children(world: World, name: str) -> list[tuple[int, int]]:
    if name == "inquiry_id":   # one per case: the second of each case adds nothing
        return list({case_id: (case_id, row_id) for case_id, row_id in reversed(world.inquiries)}.values())
    return {"follow_up_id": world.follow_ups, "entry_id": world.entries}[name]


def _singles(world: World) -> dict[str, list]:
    return dict(zip(SINGLES, (world.offers, world.suppliers, [world.import_id], [world.people.caseworker.id],
                              [world.unit_id], [world.token_id]), strict=True))


def object_arguments(rule) -> set[str]:
    return set(rule.arguments) & {"case_id", *CHILDREN, *SINGLES}


def arguments(rule, world: World) -> list[dict]:
    """Every way to fill the rule's URL with the world's objects (a row of a case goes with its case)."""
    names = set(rule.arguments)
    child = next((name for name in CHILDREN if name in names), None)
    if child:
        base = [{"case_id": case_id, child: row_id} for case_id, row_id in _children(world, child)]
    elif "case_id" in names:
        base = [{"case_id": case_id} for case_id in world.cases.values()]
    else:
        base = [{}]
    singles = _singles(world)
    options = []
    for name in sorted(names - set(base[0])):
        converter = rule._converters[name]
        if name in singles:
            values = singles[name]
        elif hasattr(converter, "items"):
            values = sorted(converter.items)
        else:
            values = CHOICES[rule.endpoint, name]   # a KeyError here: a new route argument to map above
        options.append([(name, value) for value in values])
    return [{**start, **dict(combo)} for start in base for combo in itertools.product(*options)]


def key(rule) -> tuple[str, str]:
    """A route's key: its path and endpoint (Rule objects are not hashable)."""
    return rule.rule, rule.endpoint


def methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def writes(rule) -> list[str]:
    return [method for method in methods(rule) if method != "GET"]


# --- Who may write what: the process's roles, and the app's rules about the object --------------------------------
#
# Each write is allowed when the role may do it by the process (the transition's roles, or the stage's lead and
# collaborators in workflow/process.py STAGES) AND the app's own predicate about the object says yes (the user
# is on the case, the stage is right). The role part does not come from the predicate, so a predicate that
# forgot the role is caught too.

def _case(args: dict) -> PurchaseCase:
    return db.session.get(PurchaseCase, args["case_id"])


def _step_allowed(user, case: PurchaseCase, event: Event) -> bool:
    """The process's table: the step exists from the case's stage, and the user's role may take it."""
    transition = transition_for(case.stage, event) if case.is_open else None
    return transition is not None and Role(user.role) in transition.roles and case.can_view(user)


def step(event: Event | None = None):
    return lambda user, args: _step_allowed(user, _case(args), event or Event(args["event"]))


def roles(*allowed: Role):
    return lambda user, args: Role(user.role) in allowed


def led(stage: Stage):
    """The stage's lead only."""
    return roles(STAGES[stage].lead)


def worked(stage: Stage, lead: bool = True):
    """The roles that work the stage: its lead (unless lead=False) and its collaborators."""
    return roles(*((STAGES[stage].lead,) if lead else ()), *STAGES[stage].collaborators)


def on_case(rule: Callable, check: Callable):
    """The role rule and the app's predicate about the case in the URL."""
    return lambda user, args: rule(user, args) and bool(check(_case(args), user))


def _lead(case, user) -> bool:
    return dialogue.can_lead_dialogue(case, user)


def _lead_or_caseworker(case, user) -> bool:
    return dialogue.can_lead_dialogue(case, user) or (user.role == Role.CASEWORKER and case.can_view(user))


DIALOGUE = Stage.DIALOGUE
lead = on_case(led(DIALOGUE), _lead)
negotiator = on_case(worked(DIALOGUE), _lead_or_caseworker)
requirement_editor = on_case(worked(DIALOGUE), lambda case, user: case.stage == DIALOGUE
                             and _lead_or_caseworker(case, user))
preference = on_case(worked(DIALOGUE), lambda case, user: case.can_view(user))
needs = on_case(led(Stage.NEEDS), lambda case, user: case.can_edit_needs(user))
shortlist_editor = on_case(worked(Stage.MARKET_SCAN), lambda case, user: case.can_edit_shortlist(user))
terms_editor = on_case(worked(Stage.TERMS), lambda case, user: contracts.can_edit(case, contracts.current(case), user))
drafter = on_case(led(Stage.TERMS), contracts.can_draft)
recorder = on_case(led(Stage.FOLLOW_UP), followup.can_record)
chooser = lambda user, args: lead(user, args) and step(Event.CHOOSE_SUPPLIER)(user, args)  # noqa: E731
staff_on_case = roles(*STAFF)
# README "Offer registry": procurement and administrators edit the registry and import CSV files.
registry_keepers = roles(Role.PROCUREMENT, Role.ADMIN)
INQUIRY_RULES = {"note": negotiator, "revoke": lead, "unseal": lead, "resend": lead, "prefer": preference,
                 "unprefer": preference}
ACTION_EVENTS = {"submit": Event.SUBMIT_TERMS, "review": Event.REVIEW_TERMS, "approve": Event.APPROVE,
                 "reject": Event.REJECT}

# Every write of the app map → may this user do it with these URL arguments? A write missing here fails the test.
MAY: dict[str, Callable] = {
    "cases.new_case": led(Stage.NEEDS), "api_cases.open_case": led(Stage.NEEDS),
    "cases.search_by_cpr": staff_on_case,
    "cases.show_cpr": on_case(staff_on_case, lambda case, user: case.can_show_cpr(user)),
    "cases.add_comment": on_case(staff_on_case, lambda case, user: case.can_comment(user)),
    "cases.edit_details": needs, "cases.edit_needs": needs, "api_cases.update_needs": needs,
    "cases.edit_team": on_case(worked(Stage.NEEDS), lambda case, user: case.can_manage_team(user)),
    "cases.take_step": lambda user, args: Event(args["event"]) not in OWN_PAGES and step()(user, args),
    "api_cases.take_step": lambda user, args: Event(args["event"]) not in OWN_ENDPOINTS and step()(user, args),
    "market.add": shortlist_editor, "market.note": shortlist_editor, "market.remove": shortlist_editor,
    "api_shortlist.add_entry": shortlist_editor, "api_shortlist.update_note": shortlist_editor,
    "api_shortlist.remove_entry": shortlist_editor,
    "dialogue.edit_requirement": requirement_editor, "api_dialogue.save_requirement": requirement_editor,
    "dialogue.send": lead, "api_dialogue.send_inquiries": lead,
    "dialogue.inquiry_page": lead, "api_dialogue.enter_reply": lead,
    "dialogue.inquiry_action": lambda user, args: INQUIRY_RULES[args["action"]](user, args),
    "api_dialogue.inquiry_action": lambda user, args: INQUIRY_RULES[args["action"]](user, args),
    "api_dialogue.add_note": negotiator,
    "dialogue.comparison": chooser, "api_dialogue.choose": chooser,
    "contracts.terms": terms_editor, "api_contracts.save_terms": terms_editor,
    "contracts.start": drafter, "api_contracts.draft_contract": drafter,
    "contracts.decide_step": lambda user, args: step(ACTION_EVENTS[args["action"]])(user, args),
    "contracts.reject": step(Event.REJECT),
    **{f"api_contracts.{action}": step(event) for action, event in ACTION_EVENTS.items()},
    "followup.delivery": step(Event.START_DELIVERY), "api_followup.start_delivery": step(Event.START_DELIVERY),
    "followup.record": recorder, "api_followup.record_follow_up": recorder,
    "followup.supplier_side": on_case(worked(Stage.FOLLOW_UP, lead=False), followup.can_record_supplier_side),
    "followup.ending_page": on_case(worked(Stage.ENDING), followup.can_edit_ending),
    "offers.offer_form": registry_keepers, "offers.supplier_form": registry_keepers,
    "offers.import_upload": registry_keepers, "offers.import_preview": registry_keepers,
    "api_offers.upload_import": registry_keepers, "api_offers.apply_import": registry_keepers,
    # One's own profile and tokens: nobody else's can be named (a token id of another user answers 404).
    "auth.profile": roles(*Role), "auth.create_token": roles(*Role),
    "auth.revoke_token": lambda user, args: api_tokens.find(user, args["token_id"]) is not None,
}


def may(endpoint: str) -> Callable:
    """MAY's rule for the endpoint; the admin blueprint is for administrators only (DOMAIN.md "Roles")."""
    if endpoint.startswith("admin."):
        return roles(Role.ADMIN)
    assert endpoint in MAY, f"{endpoint}: a write that MAY does not know yet; add who may do it"
    return MAY[endpoint]


# --- API bodies: valid for the resource's schema, from the OpenAPI document ---------------------------------------

def api_spec(app) -> dict:
    from workflow.api import api
    with app.app_context():
        return api.spec.to_dict()


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def example(schema: dict, spec: dict, hints: dict, name: str = ""):
    """A value the schema accepts: the hint for the field's name, else its first choice or a plain value."""
    schema = _resolve(schema, spec)
    if name in hints:
        return hints[name]
    if schema.get("enum"):
        return next(value for value in schema["enum"] if value is not None)
    kind = schema.get("type")
    if kind == "object":
        return {key: example(value, spec, hints, key) for key, value in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(schema["items"], spec, hints, name)]
    if kind == "integer":
        return max(schema.get("minimum", 1), min(1, schema.get("maximum", 1)))
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return TODAY.isoformat()
    if schema.get("format") == "decimal":
        return schema.get("example", "1")
    return CHANGED_TEXT[:schema.get("maxLength", 100)]


def body_schema(spec: dict, rule, method: str) -> dict | None:
    path = re.sub(r"<(?:[^<>]*:)?(\w+)>", r"{\1}", rule.rule)
    operation = spec["paths"].get(path, {}).get(method.lower(), {})
    return operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")


def api_hints(world: World, args: dict) -> dict:
    """Values that fit the case in the URL, so that a write is refused for who asks, not for what it says."""
    case = _case(args) if "case_id" in args else None
    inquiries = [inquiry_id for case_id, inquiry_id in world.inquiries if case and case_id == case.id]
    goals = [goal.id for goal in current_assessment(case).goals] if case else []
    day = TODAY.isoformat
    return {
        "inquiry_id": inquiries[0] if inquiries else 1, "offer_id": world.offers[-1], "offer_ids": world.offers[-1:],
        "decided_by_id": world.people.caseworker.id, "procurement_id": world.people.procurement.id,
        "economy_id": world.people.economy.id, "cpr": "010190-4321", "home_municipality": "101",
        "age_band": "35–49", "filename": "tilbud.csv", "content": EXAMPLE_CSV.read_text(encoding="utf-8"),
        "started_on": (TODAY - timedelta(days=1)).isoformat(), "held_on": day(),
        "deadline": dialogue.default_deadline(TODAY).isoformat(),
        "end_date": (TODAY + timedelta(days=90)).isoformat(), "review_date": None,
        "start_date": (TODAY + timedelta(days=60)).isoformat(), "acting_ean": "5798000000000", "paying_ean": "",
        "contact_email": "lise@leverandoer.example", "payment_days": 30, "notice_months": 3, "duration_months": 24,
        "unit_price": "2450.50", "quantity": "1", "supplement": False, "score": 50, "sealed": False,
        "budget_frame": "900000.00", "functional_levels": {}, "outcome": "continue", "channel": "phone",
        "scores": [{"goal_id": goal_id, "score": "partly", "note": ""} for goal_id in goals],
        "child_investigation_date": None, "required_hours_per_week": None, "hours_per_week": None,
    }


# --- Calling the app as one user ----------------------------------------------------------------------------------

@dataclass
class Caller:
    """One user with a signed-in browser (and its CSRF token) and a personal API token."""

    user: object
    pages: object
    api: ApiClient
    token: str

    @classmethod
    def sign_in(cls, app, make_client, user) -> Caller:
        pages = make_client(user.login)
        return cls(user, pages, ApiClient(app, user), csrf_token(pages.get("/profile")))

    @property
    def role(self) -> str:
        return str(self.user.role)

    def send(self, rule, method: str, url: str, form: list[tuple[str, str]] | None = None, body=None):
        if is_api(rule):
            headers = {} if method == "GET" else {"If-Match": "*"}   # "*": no write is refused as stale
            return self.api.call(method, url, json=body, headers=headers)
        if method == "GET":
            return self.pages.get(url)
        return self.pages.post(url, data=MultiDict([*(form or []), ("csrf_token", self.token)]))


# Calls of a route per kind (its arguments but the case and the case's row), latest stages first: a read is
# refused or not whatever the case's stage; a write is tried in two stages where someone may do it.
READS_PER_KIND, WRITES_PER_KIND = 1, 2


def kind(args: dict) -> tuple:
    """What a call does apart from which case it is about: the step, the action."""
    return tuple(sorted((name, value) for name, value in args.items() if name not in ("case_id", *CHILDREN)))


def latest_first(every: list[dict]) -> list[dict]:
    """The world's cases are opened in stage order: the later ones hold every kind of row (needs, shortlist,
    inquiries, contract, follow-ups), so they are tried first."""
    return sorted(every, key=lambda args: -args.get("case_id", 0))


def sample(every: list[dict], per_kind: int) -> list[dict]:
    taken: dict[tuple, int] = {}
    chosen = []
    for args in latest_first(every):
        if taken.get(kind(args), 0) < per_kind:
            taken[kind(args)] = taken.get(kind(args), 0) + 1
            chosen.append(args)
    return chosen


@dataclass
class Survey:
    """What the world's own users are shown: for each route the URL arguments under which it does something for
    someone (a few of each kind), and the form each write takes. Nobody else's attempt is then tried
    where it could not matter, and each is tried with the data the rightful user would send."""

    world: World
    spec: dict
    forms: dict[str, list[FormField]] = field(default_factory=dict)
    reads: dict[tuple[str, str], list[dict]] = field(default_factory=dict)    # route → arguments a GET shows
    writes: dict[tuple[str, str], list[dict]] = field(default_factory=dict)   # route → arguments someone may write

    def calls(self, rule) -> list[tuple[str, dict]]:
        reads = self.reads.get(key(rule), [])
        written = self.writes.get(key(rule), [])
        if not reads and not written:   # never open to anyone in the world (drafting terms once more): try all
            return [(method, args) for args in sample(arguments(rule, self.world), WRITES_PER_KIND)
                    for method in methods(rule)]
        return [("GET", args) for args in reads] + [(method, args) for args in written for method in writes(rule)]

    def form(self, url: str, args: dict) -> list[tuple[str, str]]:
        """The form the rightful user is shown, with the fields a route without a page of its own reads."""
        fields = filled(self.forms.get(urlsplit(url).path, []))
        given = {name for name, _value in fields}
        case = _case(args) if "case_id" in args else None
        fallback = {**FILLED, "version": str(case.version) if case else "",
                    "offer_id": str(self.world.offers[-1]), "offers": str(self.world.offers[-1]),
                    "deadline": dialogue.default_deadline(TODAY).strftime("%d-%m-%Y")}
        return fields + [(name, value) for name, value in fallback.items() if name not in given and value]

    def body(self, rule, method: str, args: dict):
        schema = body_schema(self.spec, rule, method) if is_api(rule) else None
        return example(schema, self.spec, api_hints(self.world, args)) if schema else None


def survey(app, make_client, world: World, pages: bool = True) -> Survey:
    """Walk the app map as the world's users: the writes the app's rules (MAY) give someone, the pages that show
    something, and the forms shown there to the first user allowed to send them (pages=False: the API only)."""
    found = Survey(world, api_spec(app))
    db.session.expire_all()
    users = [world.people[role.value] for role in Role]
    clients: dict[str, object] = {}

    def page(user, url: str):
        client = clients.get(user.login) or clients.setdefault(user.login, make_client(user.login))
        response = client.get(url)
        if response.status_code == 200:
            for path, fields in post_forms(response.get_data(as_text=True), url).items():
                found.forms.setdefault(path, fields)
        return response.status_code == 200

    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNTOUCHED:
            continue
        every = arguments(rule, world)
        rule_of = may(rule.endpoint) if writes(rule) else None
        if rule_of:
            found.writes[key(rule)] = sample([args for args in every if any(rule_of(user, args) for user in users)],
                                             WRITES_PER_KIND)
        if "GET" not in rule.methods or not (pages or is_api(rule)):
            continue
        if is_api(rule) or rule.rule.endswith(DOWNLOADS):
            found.reads[key(rule)] = sample(every, READS_PER_KIND)
            continue
        shown, taken, missed = [], {}, {}
        for args in latest_first(every):
            allowed = [user for user in users if rule_of and rule_of(user, args)]
            wanted = kind(args)
            if not allowed and (taken.get(wanted, 0) >= READS_PER_KIND or missed.get(wanted, 0) >= 2):
                continue   # enough of this kind seen, or it shows nobody anything in the latest stages either
            # The first user allowed to write shows the form; a page without forms of its own, anyone who sees it.
            if any(page(user, rule.build(args)[1]) for user in allowed[:1] or (users[:1] if rule_of else users)):
                if taken.get(wanted, 0) < READS_PER_KIND:
                    taken[wanted] = taken.get(wanted, 0) + 1
                    shown.append(args)
            else:
                missed[wanted] = missed.get(wanted, 0) + 1
        found.reads[key(rule)] = shown
    return found


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def readable(response) -> str:
    """The text a person would read in the response: pages, JSON, CSV, and the text inside PDFs and XLSX files."""
    data = response.get_data()
    if response.mimetype == "application/pdf" and data.startswith(b"%PDF") and b"not rendered" not in data:
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    if response.mimetype == XLSX:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    return data.decode("utf-8", "replace")


def leaks(response, world: World, asked: str = "") -> list[str]:
    """Another unit's case numbers, citizen names and CPR numbers in what the response shows (what the caller
    typed into the query itself, echoed back, does not count)."""
    if response.status_code >= 300:
        return []
    text = readable(response)
    return [marker for marker in world.markers if marker in text and marker not in asked]


def report(failures: list[str]) -> str:
    return f"{len(failures)} failures (role method route → status: what):\n" + "\n".join(failures)


# --- 1. Another unit's objects ------------------------------------------------------------------------------------

READERS, EDITORS = set(Role), {Role.PROCUREMENT, Role.ADMIN}
# Routes whose objects belong to no unit, so another unit's user may reach them. Everything else that names an
# object of another unit must be refused (403 or 404); what a shared page shows is still checked for leaks.
SHARED: dict[str, tuple[set[Role], str]] = {
    "offers.offer_page": (READERS, "the offer registry is the municipality's, one for all units (DOMAIN.md: "
                                   "Tilbudsportalen-like); it lists only the cases the reader may see"),
    "offers.supplier_page": (READERS, "the same registry: suppliers"),
    "api_offers.read_offer": (READERS, "the registry through the API"),
    "offers.offer_form": (EDITORS, "procurement and administrators keep the one registry (README: offer registry)"),
    "offers.supplier_form": (EDITORS, "the same, for suppliers"),
    "offers.import_preview": (EDITORS, "an import is the registry's, whoever uploaded it"),
    "api_offers.read_import": (EDITORS, "the same through the API"),
    "api_offers.apply_import": (EDITORS, "the same through the API"),
    "admin.user_edit": ({Role.ADMIN}, "administrators manage the users of every unit (DOMAIN.md: Admin: users, "
                                      "units, settings)"),
    "admin.user_password": ({Role.ADMIN}, "the same: a password reset"),
    "admin.unit_form": ({Role.ADMIN}, "administrators manage every unit"),
}
# Routes without an object in the URL, asked by their query for another unit's things: they answer for the
# caller's own scope, so they may answer 200, but never with another unit's case.
QUERIES: dict[str, Callable[[World], list[dict]]] = {
    "cases.case_list_page": lambda w: [{"scope": scope, "status": "all", "q": w.markers[1],
                                        "owner": w.people.caseworker.id} for scope in ("tasks", "mine", "unit")],
    "api_cases.list_cases": lambda w: [{"scope": scope, "status": "all", "q": w.markers[1]}
                                       for scope in ("tasks", "mine", "unit")],
    "dashboard.dashboard_page": lambda w: [{"unit": w.unit_id}],
    "exports.portfolio_csv": lambda w: [{"unit": w.unit_id}],
    "exports.portfolio_xlsx": lambda w: [{"unit": w.unit_id}],
    "exports.portfolio_pdf": lambda w: [{"unit": w.unit_id}],
    "api_portfolio.read_portfolio": lambda w: [{"unit": w.unit_id}],
}


def _attack(caller: Caller, rule, seen: Survey, own_case: dict[int, int], watch: WriteWatch,
            failures: list[str]) -> int:
    """Every call of the rule names another unit's object: refused (403/404), nothing shown, nothing written."""
    shared = Role(caller.user.role) in SHARED.get(rule.endpoint, (set(), ""))[0]
    calls = seen.calls(rule)
    if set(rule.arguments) & set(CHILDREN):   # and another unit's row under the caller's own unit's case
        calls += [(method, {**args, "case_id": own_case[args["case_id"]]}) for method, args in calls]
    for method, args in calls:
        if shared and method != "GET":
            continue   # a shared object's edit by someone allowed to edit it: not a question of units
        url = rule.build(args)[1]
        form = seen.form(url, args) if method == "POST" and not is_api(rule) else None
        response = caller.send(rule, method, url, form=form, body=seen.body(rule, method, args))
        written, shown = watch.take(), leaks(response, seen.world)
        refused = response.status_code < 500 if shared else response.status_code in (403, 404)
        if not refused or shown or (written and not shared):
            failures.append(f"{caller.role} {method} {url} → {response.status_code}: "
                            + ("shows " + ", ".join(shown) if shown else "wrote " + ", ".join(written) if written
                               else "not refused"))
    return len(calls)


def _read_lists(caller: Caller, rule, world: World, failures: list[str]) -> None:
    """A route without an object in its URL: any answer but a 5xx, and never another unit's data."""
    if "GET" not in rule.methods:
        return
    for query in [{}, *QUERIES.get(rule.endpoint, lambda w: [])(world)]:
        url = rule.build({})[1] + (f"?{urlencode(query)}" if query else "")
        response = caller.send(rule, "GET", url)
        shown = leaks(response, world, asked=url)
        if response.status_code >= 500 or shown:
            failures.append(f"{caller.role} GET {url} → {response.status_code}: shows {', '.join(shown)}")


def _search(caller: Caller, seen: Survey, watch: WriteWatch, failures: list[str]) -> None:
    """Searching for another unit's citizen by CPR number finds nothing and logs no read."""
    for number in seen.world.cprs:
        form = [(name, number if name == "cpr" else value) for name, value in seen.form("/cases/search", {})]
        response = caller.pages.post("/cases/search", data=MultiDict([*form, ("csrf_token", caller.token)]))
        written, shown = watch.take(), leaks(response, seen.world)
        if response.status_code not in (200, 403) or shown or written:
            failures.append(f"{caller.role} POST /cases/search (another unit's CPR) → {response.status_code}: "
                            f"shows {shown}, wrote {written}")


def test_no_route_serves_or_changes_another_units_objects(app, staff, make_client):
    mine = build_world(app, unit_staff(staff, ""), OWN)
    theirs = build_world(app, unit_staff(staff, "_other"), OTHER)
    seen = survey(app, make_client, theirs)
    own_case = {case_id: mine.cases[stage] for stage, case_id in theirs.cases.items()}
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint not in UNTOUCHED]
    failures: list[str] = []
    calls = 0
    with WriteWatch() as watch:
        for role in Role:
            caller = Caller.sign_in(app, make_client, mine.people[role.value])
            watch.take()
            before = fingerprint()
            for rule in rules:
                if object_arguments(rule):
                    calls += _attack(caller, rule, seen, own_case, watch, failures)
            _search(caller, seen, watch, failures)
            if changed := changed_tables(before, fingerprint()):
                failures.append(f"{caller.role}: the sweep changed the tables {', '.join(changed)}")
            for rule in rules:
                if not object_arguments(rule):
                    _read_lists(caller, rule, theirs, failures)
    assert not failures, report(failures)
    assert calls > 800, calls


# --- 2. The wrong role in the same unit ---------------------------------------------------------------------------

def test_the_wrong_role_in_the_same_unit_changes_nothing(app, staff, make_client):
    """Each write that someone in the unit may do, tried by everyone the app's rules (MAY) do not allow it."""
    mine = build_world(app, unit_staff(staff, ""), OWN)
    seen = survey(app, make_client, mine)
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint not in UNTOUCHED and writes(rule)]
    failures: list[str] = []
    tried: set[str] = set()
    callers = []
    with WriteWatch() as watch:
        for role in Role:
            caller = Caller.sign_in(app, make_client, mine.people[role.value])
            callers.append(caller)
            watch.take()
            db.session.expire_all()
            before = fingerprint()
            for rule in rules:
                for args in seen.writes[key(rule)]:
                    if may(rule.endpoint)(caller.user, args):
                        continue
                    for method in writes(rule):
                        url = rule.build(args)[1]
                        form = seen.form(url, args) if not is_api(rule) else None
                        response = caller.send(rule, method, url, form=form, body=seen.body(rule, method, args))
                        # A refused form shown again is a read of the case, and logged as one.
                        written = [table for table in watch.take() if table != "INSERT access_log"]
                        tried.add(rule.endpoint)
                        if written or response.status_code >= 500:
                            failures.append(f"{caller.role} {method} {url} → {response.status_code}: "
                                            f"wrote {', '.join(written) or 'nothing'}")
            after = fingerprint()
            if changed := [name for name in changed_tables(before, after) if name != "access_log"]:
                failures.append(f"{caller.role}: the sweep changed the tables {', '.join(changed)}")
    assert not failures, report(failures)
    untried = {rule.endpoint for rule in rules if seen.writes[key(rule)]} - tried - {
        "auth.profile", "auth.create_token"}   # one's own profile: every role may
    assert not untried, f"writes nobody was refused: {sorted(untried)}"
    effective = _allowed_writes(rules, seen, callers)
    assert effective >= CONTROL, f"the data sent did not work even for those allowed: {sorted(CONTROL - effective)}"


# Writes whose form or body, sent by someone allowed, must save something: the proof that the data the refused
# users sent would have worked, so that "nothing written" is the refusal's doing and not bad data's.
CONTROL = {
    "cases.edit_details", "cases.edit_needs", "cases.edit_team", "cases.add_comment", "market.add", "market.note",
    "dialogue.edit_requirement", "dialogue.send", "dialogue.inquiry_page", "dialogue.inquiry_action",
    "dialogue.comparison", "contracts.terms", "contracts.reject", "followup.delivery", "followup.record",
    "followup.ending_page", "offers.offer_form", "offers.supplier_form", "offers.import_preview",
    "auth.create_token", "auth.revoke_token", "api_cases.open_case", "api_cases.update_needs", "api_cases.take_step",
    "api_dialogue.add_note", "api_dialogue.inquiry_action", "api_contracts.save_terms", "api_contracts.submit",
    "api_followup.record_follow_up", "api_offers.upload_import",
}


def _allowed_writes(rules, seen: Survey, callers: list[Caller]) -> set[str]:
    """Each write once, by the first user allowed to do it (after the sweep: the world may change now; the
    administrators' writes last, as they change the users)."""
    done = set()
    with WriteWatch() as watch:
        for rule in sorted(rules, key=lambda rule: rule.endpoint.startswith("admin.")):
            for args in seen.writes[key(rule)][:1]:
                caller = next((c for c in callers if may(rule.endpoint)(c.user, args)), None)
                if caller is None:
                    continue   # an earlier write changed the case so that nobody may do this one now
                for method in writes(rule):
                    url = rule.build(args)[1]
                    form = seen.form(url, args) if not is_api(rule) else None
                    caller.send(rule, method, url, form=form, body=seen.body(rule, method, args))
                    written = [table for table in watch.take() if table != "INSERT access_log"]
                    if written:
                        done.add(rule.endpoint)
                db.session.expire_all()
    return done
