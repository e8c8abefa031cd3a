"""Mass assignment: fields a user may not set, added to every form and every API write, are never stored.

Pages read their forms through WTForms, which takes only the fields a form declares, and nothing in the code
copies a request into a model (no populate_obj, no **request.form: checked first). The API's schemas refuse
unknown fields (unknown=RAISE) with 422, at the top and in nested objects. Both are tried for every write of
the app map: the world of tests/support/unit_world.py is built, and each write is sent once by a user allowed to
send it, with its form as that user is shown it (or a body valid for its schema) plus the extra fields:
`id`, `stage`, `status`, `version`, `unit_id`, `owner_id`, `citizen_id`, `case_id`, `cpr`, `approved_by_id`,
`created_at`, `annual_cost`, `role`, `is_admin`, `approval_limit` and more, each with a value no legitimate
write would store (a unit, user, case and citizen made for the purpose, a stage that does not exist).
Afterwards no row of any table may hold one of those values in a column of that name that it did not hold
before.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tests.conftest import PASSWORD, is_api
from tests.factories import make_case, to_market_scan
from tests.support.app_map import CONTROL, Caller, arguments, key, may, sample, survey, writes
from tests.support.unit_world import OWN, build_world, make_offers, unit_staff
from tests.support.write_watch import WriteWatch
from workflow.extensions import db
from workflow.models import Role, User
from workflow.services import shortlist
from workflow.services import users as user_service

pytestmark = pytest.mark.slow

WORKFLOW = Path(__file__).resolve().parents[2] / "workflow"
STAMP = datetime(2001, 2, 3, 4, 5, 6)
PEOPLE = ("owner_id", "approved_by_id", "user_id", "author_id", "uploaded_by_id", "entered_by_id", "drafted_by_id",
          "submitted_by_id", "reviewed_by_id", "recorded_by_id", "actor_id", "procurement_id", "economy_id",
          "decided_by_id")


# --- 0. Nothing copies a request into a model ---------------------------------------------------------------------

COPYING = re.compile(r"populate_obj\(|\*\*\s*request\.(form|json|args|values|files|get_json)"
                     r"|request\.(form|values|args)\.(to_dict|items)\(|setattr\([^)]*request\.")


def test_no_code_copies_a_request_into_a_model():
    """WTForms' populate_obj and spreading the request's fields would set whatever a client sends."""
    found = [f"{path.relative_to(WORKFLOW.parent)}:{number}: {line.strip()}"
             for path in sorted(WORKFLOW.rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if COPYING.search(line)]
    assert not found, "\n".join(found)


def test_query_arguments_are_not_spread_into_the_shortlists_links(app, staff, make_client):
    """The market scan keeps its filters on its forms and redirects, and nothing else of the query: a `case_id`
    there once made url_for fail (500), and url_for's own `_external`/`_scheme`/`_anchor` would bend the link."""
    case = make_case(staff.caseworker, procurement=staff.procurement)
    to_market_scan(case, staff.caseworker)
    offer = make_offers("Forespørgsel")[0]
    client = make_client("caseworker")
    filters = "service=residence&service=socio_educational_support&vacancy=1"
    query = f"{filters}&case_id={case.id + 1}&endpoint=x&_anchor=x&_scheme=ftp"
    page = client.get(f"/cases/{case.id}/market-scan?{query}")
    assert page.status_code == 200
    actions = re.findall(r'action="([^"]*/shortlist[^"]*)"', page.get_data(as_text=True))
    assert actions and all(action.startswith(f"/cases/{case.id}/shortlist?") for action in actions), actions
    form = {"offer_id": offer.id, "score": "50", "note": "Tæt på familien"}
    response = client.submit(f"/cases/{case.id}/shortlist?{query}", form, form_page=f"/cases/{case.id}/market-scan")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case.id}/market-scan?{filters}#kortliste"
    assert [entry.offer_id for entry in shortlist.entries(case)] == [offer.id]


# --- The values no legitimate write stores ------------------------------------------------------------------------

@dataclass
class Decoys:
    """A unit, a user, a case and a citizen of their own, that no write of the world would ever point to."""

    unit_id: int
    user_id: int
    case_id: int
    citizen_id: int

    @classmethod
    def make(cls) -> Decoys:
        unit = user_service.create_unit("Lokkeenheden")
        user = user_service.create_user(login="lokkedue", full_name="Lokke Due", email="lokke@example.org",
                                        role=Role.CASEWORKER, unit=unit, password=PASSWORD)
        db.session.commit()
        case = make_case(user, name="Lokke Borger")
        return cls(unit.id, user.id, case.id, case.citizen_id)

    def values(self) -> dict[str, object]:
        values = {"id": 2147480000, "stage": "injected", "status": "injected", "version": 424242,
                  "unit_id": self.unit_id, "citizen_id": self.citizen_id, "case_id": self.case_id,
                  "cpr": "0101011234", "created_at": STAMP.isoformat(), "approved_at": STAMP.isoformat(),
                  "annual_cost": "12345.67", "role": "admin", "is_admin": True, "approval_limit": "99999999.00",
                  "password_hash": "injected", "login": "injected", "anonymised_at": STAMP.isoformat()}
        values.update(dict.fromkeys(PEOPLE, self.user_id))
        return values


def _same(stored, wanted) -> bool:
    """Whether a stored value is the injected one (compared as what the column holds)."""
    if stored is None or isinstance(stored, bool):
        return False
    if isinstance(stored, datetime):
        return stored.date() == STAMP.date()
    if isinstance(stored, (int, Decimal)):
        try:
            return Decimal(str(stored)) == Decimal(str(wanted))
        except InvalidOperation:
            return False
    return str(stored) == str(wanted)


def holders(values: dict[str, object]) -> set[tuple[str, str, tuple]]:
    """(table, column, primary key) of every row whose column of an injected field's name holds its value."""
    found = set()
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            columns = [column for column in table.columns if column.name in values]
            if not columns:
                continue
            keys = list(table.primary_key.columns)
            for row in connection.execute(select(*keys, *columns)):
                for index, column in enumerate(columns):
                    if _same(row[len(keys) + index], values[column.name]):
                        found.add((table.name, column.name, tuple(row[:len(keys)])))
    return found


def _first_allowed(rule, args, callers):
    return next((caller for caller in callers if may(rule.endpoint)(caller.user, args)), None)


# --- 1. Pages -----------------------------------------------------------------------------------------------------

def with_extras(form: list[tuple[str, str]], values: dict[str, object]) -> list[tuple[str, str]]:
    """The form plus every injected field it does not declare, also inside each of its repeated groups
    (goals-0-…, lines-1-…)."""
    declared = {name for name, _value in form}
    groups = {match.group(1) for name in declared if (match := re.match(r"(.+-\d+)-[^-]+$", name))}
    extras = [(f"{group}-{name}" if group else name, str(value))
              for group in ("", *sorted(groups)) for name, value in values.items()
              if (f"{group}-{name}" if group else name) not in declared]
    return form + extras


def test_no_form_stores_a_field_it_does_not_declare(app, staff, make_client):
    world = build_world(app, unit_staff(staff, ""), OWN)
    values = Decoys.make().values()
    seen = survey(app, make_client, world)
    callers = [Caller.sign_in(app, make_client, world.people[role.value]) for role in Role]
    rules = sorted((rule for rule in app.url_map.iter_rules() if not is_api(rule) and key(rule) in seen.writes),
                   key=lambda rule: rule.endpoint.startswith("admin."))   # administrators change users: last
    failures, saved = [], set()
    before = holders(values)
    with WriteWatch() as watch:
        for rule in rules:
            for args in seen.writes[key(rule)][:1]:
                caller = _first_allowed(rule, args, callers)
                if caller is None:
                    continue   # an earlier write changed the case so that nobody may do this one now
                url = rule.build(args)[1]
                form = with_extras(seen.form(url, args), values)
                response = caller.pages.post(url, data=MultiDict([*form, ("csrf_token", caller.token)]))
                if [table for table in watch.take() if table != "INSERT access_log"]:
                    saved.add(rule.endpoint)
                after = holders(values)
                if after - before or response.status_code >= 500:
                    failures.append(f"{caller.role} POST {url} → {response.status_code}: stored "
                                    + ", ".join(f"{table}.{column} of {row}" for table, column, row
                                                in sorted(after - before)))
                before = after
    assert not failures, "\n".join(failures)
    # The extra fields are ignored, not a reason to refuse: the forms still save what they declare.
    pages = {endpoint for endpoint in CONTROL if not endpoint.startswith("api_")}
    assert pages <= saved, f"forms that saved nothing: {sorted(pages - saved)}"


def test_nobody_raises_their_own_role_or_limit_on_the_profile(app, staff, make_client):
    """The profile changes one's password, nothing else: not the role, the unit or the approval limit."""
    values = Decoys.make().values()
    for role in (Role.CASEWORKER, Role.PROCUREMENT, Role.ECONOMY, Role.MANAGER):
        login = role.value
        client = make_client(login)
        before = db.session.execute(select(User.role, User.unit_id, User.approval_limit, User.active)
                                    .where(User.login == login)).one()
        new_password = f"Lang-og-sikker-adgangsfrase-{len(login)}"
        form = {"current_password": PASSWORD, "password": new_password, "confirm": new_password,
                **{name: str(value) for name, value in values.items()}, "active": "y"}
        response = client.submit("/profile", form)
        assert response.status_code == 302, (login, response.get_data(as_text=True)[:500])
        db.session.expire_all()
        user = db.session.scalar(select(User).where(User.login == login))
        assert (user.role, user.unit_id, user.approval_limit, user.active) == tuple(before), login
        assert make_client().sign_in(login, new_password).status_code == 302   # the password did change


# --- 2. The API ---------------------------------------------------------------------------------------------------

def _flat(errors, prefix="") -> set[str]:
    """The paths of a problem's field errors: "stage", "lines.0.case_id"."""
    if not isinstance(errors, dict):
        return {prefix.rstrip(".")}
    return set().union(*(_flat(value, f"{prefix}{name}.") for name, value in errors.items())) if errors else set()


def injected_body(body: dict, values: dict[str, object]) -> tuple[dict, set[str]]:
    """The body with every injected field it does not declare, also in the first object of each list."""
    extra = {name: value for name, value in values.items() if name not in body}
    paths = set(extra)
    result = {**body, **extra}
    for name, value in body.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            nested = {field: values[field] for field in ("id", "case_id") if field not in value[0]}
            result[name] = [{**value[0], **nested}, *value[1:]]
            paths |= {f"{name}.0.{field}" for field in nested}
    return result, paths


def test_the_api_refuses_every_field_it_does_not_declare(app, staff, make_client):
    world = build_world(app, unit_staff(staff, ""), OWN)
    values = Decoys.make().values()
    seen = survey(app, make_client, world, pages=False)
    callers = [Caller.sign_in(app, make_client, world.people[role.value]) for role in Role]
    rules = [rule for rule in app.url_map.iter_rules() if is_api(rule) and writes(rule)]
    failures = []
    before = holders(values)
    with WriteWatch() as watch:
        for rule in rules:
            for args in (seen.writes[key(rule)] or sample(arguments(rule, world), 1))[:1]:
                caller = _first_allowed(rule, args, callers) or callers[0]
                for method in writes(rule):
                    url = rule.build(args)[1]
                    body, paths = injected_body(seen.body(rule, method, args) or {}, values)
                    response = caller.api.call(method, url, json=body, headers={"If-Match": "*"})
                    problem = response.get_json(silent=True)
                    refused = _flat(problem.get("errors", {}).get("json", {}) if isinstance(problem, dict) else {})
                    written = [table for table in watch.take() if table != "INSERT access_log"]
                    after = holders(values)
                    if response.status_code != 422 or paths - refused or written or after - before:
                        failures.append(f"{caller.role} {method} {url} → {response.status_code}: not refused "
                                        f"{sorted(paths - refused)}, wrote {written}, stored {sorted(after - before)}")
                    before = after
    assert not failures, "\n".join(failures)
