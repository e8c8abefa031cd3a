"""The access matrix: every route of the app map × every role × another unit's objects, and the wrong role.

1. Across units. The `staff` fixture has two units. A whole unit-2 "world" is built through the services
   (tests/support/unit_world.py: cases in every stage with a needs assessment, a shortlist entry, inquiries and
   replies, contracts with price lines submitted, reviewed and approved, follow-ups and an ending; an offer
   import, an API token). Every unit-1 user then calls every route of the app map with each URL argument filled
   with the unit-2 object it names: GET, and POST (pages, with a valid CSRF token and the form the rightful
   unit-2 user is shown) or the API's writes (bearer token, a body valid for the schema, `If-Match: *`). Nothing
   may answer with anything but a refusal, show a unit-2 case number, citizen name or CPR number, or change the
   database (row counts and a checksum of every table). Who may see what is the code's rule
   (PurchaseCase.can_view: caseworkers and managers their unit's cases; procurement and economy the cases they
   are on; DOMAIN.md "Roles"); the routes that are shared across units on purpose are in SHARED, each with its
   reason.
2. The wrong role in the same unit. Every write of the app map on a unit-1 object, by each unit-1 user who may
   not do it, must change nothing. Who may is MAY (tests/support/app_map.py): the role the process gives the step
   (workflow/process.py: a transition's roles, or a stage's lead and collaborators) and the app's own predicate
   about the object (on the case, the right stage). A control then shows that the same data, sent by someone
   allowed, does save: the refusals are the rules' doing, not bad data's.

Each route is called where it does something for someone: the survey (tests/support/app_map.py) walks the app map
as the world's own users first, and keeps a few calls of each kind (the latest stages first) and the forms they
are shown. Failures are collected and reported as one list of "role method route → status: what went wrong".
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from pypdf import PdfReader
from werkzeug.datastructures import MultiDict

from tests.conftest import is_api
from tests.support.app_map import (
    CHILDREN,
    CONTROL,
    UNTOUCHED,
    Caller,
    Survey,
    key,
    may,
    object_arguments,
    survey,
    writes,
)
from tests.support.unit_world import OTHER, OWN, World, build_world, unit_staff
from tests.support.write_watch import WriteWatch, changed_tables, fingerprint
from workflow.extensions import db
from workflow.models import Role

pytestmark = pytest.mark.slow


# --- What a response shows -----------------------------------------------------------------------------------------

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
