"""Every route of the app map, called as one user with the objects of a unit's world.

`arguments` fills a route's URL with the world's objects, `MAY` says who may do each write (the process's roles
and the app's own rule about the object), `survey` walks the map as the world's own users to find where each
route does something for someone and which form it takes, and a `Caller` sends a call as one signed-in user
(pages with a CSRF token, the API with a bearer token and a body valid for the schema). Used by the access
matrix and the mass-assignment tests (tests/reliability/).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict

from tests.conftest import csrf_token, is_api
from tests.support.api import ApiClient
from tests.support.page_forms import CHANGED_TEXT, FILLED, FormField, filled, post_forms
from tests.support.unit_world import EXAMPLE_CSV, TODAY, World
from workflow.api.cases import OWN_ENDPOINTS
from workflow.api.dialogue import INQUIRY_ACTIONS
from workflow.cases.views import OWN_PAGES
from workflow.contracts.views import STEPS as CONTRACT_STEPS
from workflow.extensions import db
from workflow.models import PurchaseCase, Role
from workflow.process import STAGES, Event, Stage, transition_for
from workflow.security import STAFF
from workflow.services import api_tokens, contracts, dialogue, followup
from workflow.services.cases import current_assessment

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
