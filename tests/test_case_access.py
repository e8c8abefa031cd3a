"""Access by work-related need: every case route × every role × own unit, other unit, assigned.

Anyone without need gets 404 (never a hint that the case exists); every view is logged.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.factories import make_case
from workflow.extensions import db as _db
from workflow.models import AccessLog

READ_ROUTES = ["/cases/{id}"]
EDIT_ROUTES = ["/cases/{id}/needs", "/cases/{id}/details", "/cases/{id}/team"]

# Who sees what: (role, relation to the case) → status of a GET on the case page.
VIEW = {
    ("caseworker", "own unit"): 200, ("caseworker", "other unit"): 404,
    ("manager", "own unit"): 200, ("manager", "other unit"): 404,
    ("procurement", "assigned"): 200, ("procurement", "not assigned"): 404,
    ("economy", "assigned"): 200, ("economy", "not assigned"): 404,
    ("admin", "any"): 403,
}
EDIT = {  # needs/details/team of a case in the needs stage
    ("caseworker", "own unit"): {"needs": 200, "details": 200, "team": 200},
    ("manager", "own unit"): {"needs": 403, "details": 403, "team": 200},
    ("procurement", "assigned"): {"needs": 403, "details": 403, "team": 403},
    ("economy", "assigned"): {"needs": 403, "details": 403, "team": 403},
}


@pytest.fixture
def matrix_cases(staff):
    """One case in the home unit with procurement and economy assigned, one in the other unit."""
    home = make_case(staff.caseworker, procurement=staff.procurement, economy=staff.economy)
    other = make_case(staff.caseworker_other, procurement=staff.procurement_other, economy=staff.economy_other)
    return home, other


def _target(staff, matrix_cases, role, relation):
    home, other = matrix_cases
    login = role
    if relation in ("own unit", "assigned", "any"):
        return login, home
    if relation == "other unit":
        return login, other
    return login, other  # "not assigned": procurement/economy of the home unit on the other unit's case


@pytest.mark.parametrize("role, relation", list(VIEW))
def test_view_matrix(staff, matrix_cases, make_client, role, relation):
    login, case = _target(staff, matrix_cases, role, relation)
    client = make_client(login)
    for route in READ_ROUTES:
        assert client.get(route.format(id=case.id)).status_code == VIEW[(role, relation)], route


@pytest.mark.parametrize("role, relation", list(VIEW))
def test_edit_matrix(staff, matrix_cases, make_client, role, relation):
    login, case = _target(staff, matrix_cases, role, relation)
    client = make_client(login)
    for route in EDIT_ROUTES:
        name = route.rsplit("/", 1)[1]
        expected = VIEW[(role, relation)]
        if expected == 200:
            expected = EDIT[(role, relation)][name]
        assert client.get(route.format(id=case.id)).status_code == expected, route


@pytest.mark.parametrize("role, relation", [key for key, status in VIEW.items() if status != 200])
def test_posts_to_unseen_cases_answer_404_or_403(staff, matrix_cases, make_client, role, relation):
    login, case = _target(staff, matrix_cases, role, relation)
    client = make_client(login)
    for path in ("comments", "cpr", "steps/cancel", "steps/complete_assessment", "needs", "team", "details"):
        response = client.submit(f"/cases/{case.id}/{path}", {"version": case.version, "reason": "x", "body": "x"},
                                 form_page="/")
        assert response.status_code in (403, 404), path
        assert response.status_code == (403 if role == "admin" else 404), path


def test_a_missing_case_is_404_like_a_hidden_one(staff, make_client):
    assert make_client("caseworker").get("/cases/999999").status_code == 404


def test_lists_show_only_visible_cases(staff, matrix_cases, make_client):
    home, other = matrix_cases
    for login, sees_home in (("caseworker", True), ("manager", True), ("procurement", True),
                             ("caseworker_other", False), ("procurement_other", False)):
        page = make_client(login).get("/cases?scope=unit&status=all").get_data(as_text=True)
        assert (home.number in page) is sees_home, login
        assert (other.number in page) is not sees_home, login


@pytest.mark.parametrize("path, action", [("/cases/{id}", "case.view"), ("/cases/{id}/needs", "needs.edit"),
                                          ("/cases/{id}/details", "case.edit")])
def test_every_view_of_citizen_data_is_logged(staff, matrix_cases, make_client, db, path, action):
    home, _other = matrix_cases
    client = make_client("caseworker")
    for _ in range(2):
        assert client.get(path.format(id=home.id)).status_code == 200
    rows = db.session.scalars(db.select(AccessLog).where(AccessLog.action == action)).all()
    assert len(rows) == 2
    assert all(row.user_id == staff.caseworker.id and row.citizen_id == home.citizen_id
               and row.case_id == home.id and row.purpose for row in rows)


@pytest.mark.parametrize("path", ["/cases?scope=unit&status=all", "/"])
def test_a_list_that_names_citizens_logs_a_read_of_each(staff, matrix_cases, make_client, db, path):
    home, other = matrix_cases
    client = make_client("caseworker")
    assert client.get(path).status_code == 200
    rows = db.session.scalars(db.select(AccessLog).where(AccessLog.action == "case.list")).all()
    shown = {row.case_id for row in rows}
    assert home.id in shown or path == "/"  # the start page lists tasks only
    assert other.id not in shown
    assert all(row.user_id == staff.caseworker.id and row.purpose for row in rows)
    assert len(rows) == len(shown)


def test_refused_views_are_not_logged_as_reads(staff, matrix_cases, make_client, db):
    _home, other = matrix_cases
    make_client("caseworker").get(f"/cases/{other.id}")
    assert db.session.scalar(db.select(db.func.count(AccessLog.id))) == 0


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1


def _queries(client, url) -> int:
    counter = QueryCounter()
    engine = _db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return counter.count


def test_query_counts_do_not_grow_with_the_data(staff, make_client, db):
    from workflow import demo
    client = make_client("caseworker")
    case_id = make_case(staff.caseworker).id
    demo.bulk_cases(9)
    db.session.commit()
    small = {url: _queries(client, url) for url in ("/cases?scope=unit", "/cases?scope=tasks", "/",
                                                    f"/cases/{case_id}")}
    demo.bulk_cases(990)
    db.session.commit()
    large = {url: _queries(client, url) for url in small}
    assert small == large
    assert all(count <= 20 for count in large.values()), large


def test_bulk_cases_have_budgets_in_kroner(staff, db):
    """The bulk insert hands Decimal kroner to the Money column, which stores øre itself."""
    from sqlalchemy import func, select

    from workflow import demo
    from workflow.models import PurchaseCase
    demo.bulk_cases(50)
    db.session.commit()
    largest = db.session.scalar(select(func.max(PurchaseCase.budget_frame)))
    assert 100_000 <= largest <= 2_000_000


@pytest.mark.parametrize("path", ["/cases?scope=unit&status=all", "/offers"])
def test_page_links_keep_the_query_and_survive_odd_arguments(staff, make_client, db, path):
    """The list's next-page link carries its filters; an argument named like url_for's own breaks nothing."""
    from workflow import demo
    from workflow.demo.registry import seed_registry

    if path.startswith("/offers"):
        seed_registry(60)
    else:
        demo.bulk_cases(80)   # across both units: more than one page of 25 in each
    db.session.commit()
    page = make_client("caseworker").get(path + "&endpoint=x&_anchor=y" if "?" in path else path + "?endpoint=x")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "page=2" in text and "endpoint=x" in text
