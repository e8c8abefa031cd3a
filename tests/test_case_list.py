"""The case list's pages: a deep page costs what the first does, and the pages together are the whole list."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.queries import statements_of_get
from workflow import demo
from workflow.extensions import db as _db
from workflow.models import PurchaseCase
from workflow.services import case_list

BY_BASIS = "/cases?scope=unit&status=all&legal_basis={basis}"


@pytest.fixture
def many_cases(staff, db):
    demo.bulk_cases(400)
    db.session.commit()


def _commonest_basis(user) -> str:
    """The legal basis of most cases in the user's unit: more than one page of them."""
    return _db.session.execute(
        select(PurchaseCase.legal_basis).where(PurchaseCase.unit_id == user.unit_id)
        .group_by(PurchaseCase.legal_basis).order_by(_db.func.count().desc(), PurchaseCase.legal_basis).limit(1)
    ).scalar_one()


def test_a_deep_page_costs_the_queries_of_the_first(staff, many_cases, make_client):
    client = make_client("caseworker")
    for url in ("/cases?scope=unit&status=all", "/cases?scope=unit&status=all&stage=closed",
                BY_BASIS.format(basis=_commonest_basis(staff.caseworker)), "/cases?scope=unit&sort=start"):
        arguments = dict(part.split("=") for part in url.split("?")[1].split("&"))
        last = case_list.list_cases(staff.caseworker, case_list.CaseFilters(**arguments, page=9999))
        assert last.pages > 2, url
        assert statements_of_get(client, f"{url}&page={last.pages}") == statements_of_get(client, url), url
        page = client.get(f"{url}&page={last.pages}").get_data(as_text=True)
        assert all(row.number in page for row in last.rows), url


def test_the_pages_together_are_the_whole_list_in_its_order(staff, many_cases):
    """Every sort and scope: the pages, one after the other, are the list read whole, each case once."""
    user = staff.caseworker
    for filters in ({"scope": "unit", "status": "all"}, {"scope": "unit", "stage": "closed"},
                    {"scope": "mine", "status": "closed"}, {"scope": "tasks"}):
        for sort in case_list.SORTS:
            whole = case_list.list_cases(user, case_list.CaseFilters(**filters, sort=sort), page_size=10_000)
            paged, page, pages = [], 1, -(-whole.total // 7) or 1
            while page <= pages:
                found = case_list.list_cases(user, case_list.CaseFilters(**filters, sort=sort, page=page),
                                             page_size=7)
                assert (found.total, found.pages, found.page) == (whole.total, pages, page), (filters, sort)
                paged += [row.id for row in found.rows]
                page += 1
            assert paged == [row.id for row in whole.rows], (filters, sort)
            assert len(set(paged)) == whole.total > 7, (filters, sort)
