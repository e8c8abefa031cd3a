"""Contract terms (stage 4), approval with four eyes (stage 5) and the PDF contract summary.

The cases are walked to stage 4 through the same services the pages use (assessment, shortlist, dialogue,
inquiries, a reply and a choice: tests/support/contracts.py); the roles are the `staff` fixture's, plus managers
with other limits.
"""
from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.conftest import PASSWORD, csrf_token
from tests.support.contracts import (
    CHOSEN_PRICE,
    CITIZEN,
    CPR,
    CPR_FORMS,
    GOALS,
    MASKED_CPR,
    START,
    SUPPLIER,
    TODAY,
    approved,
    build_terms_case,
    draft_contract,
    line,
    make_manager,
    place_in_stage,
    reviewed,
    submitted,
    terms_form,
    terms_of,
)
from tests.support.pdf import flat, pdf_text
from workflow import pdf as pdf_module
from workflow import pricing
from workflow.extensions import db
from workflow.models import ApprovalEvent, AuditEvent, ContractPriceLine, ContractVersion, PurchaseCase, Role
from workflow.models.audit import AppendOnlyError
from workflow.models.contracts import FrozenContractError
from workflow.pdf import STATIC_BASE, RenderTimeout, StaticOnlyFetcher, html_to_pdf
from workflow.process import Stage
from workflow.services import ServiceError, contract_pdf, contracts, dialogue, settings
from workflow.services import users as user_service

pytestmark = pytest.mark.usefixtures("outbox")


# --- Helpers ---------------------------------------------------------------------------------------------------

def commit():
    db.session.commit()


def snapshot(contract_id: int) -> dict:
    """Every column of a contract version and its lines, read fresh from the database."""
    db.session.expire_all()
    contract = db.session.get(ContractVersion, contract_id)
    row = {column.key: getattr(contract, column.key) for column in ContractVersion.__table__.columns}
    row["lines"] = [(x.description, x.unit, x.unit_price, x.quantity, x.supplement) for x in contract.lines]
    return row


def events_of(contract: ContractVersion) -> list[tuple[str, int, str | None]]:
    return [(e.action, e.actor_id, e.reason) for e in contracts.history([contract.id])]


def web_post(make_client, login: str, url: str, data: dict, token_page: str):
    client = make_client(login)
    token = csrf_token(client.get(token_page))
    return client.post(url, data={"csrf_token": token, **data})


# --- 1. Drafting -----------------------------------------------------------------------------------------------

def test_draft_is_prefilled_from_the_chosen_reply_and_the_needs(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    chosen = dialogue.choice(case)
    contract = draft_contract(case, staff)

    assert (contract.number, contract.status, contract.drafted_by_id) == (1, "draft", staff.procurement.id)
    assert contract.supplier_name == SUPPLIER
    assert contract.supplier_cvr == chosen.inquiry.offer.supplier.cvr
    assert re.fullmatch(r"\d{8}", contract.supplier_cvr)
    assert [(x.description, x.unit, x.unit_price, x.quantity) for x in contract.lines] == [
        ("Døgntakst", "døgn", CHOSEN_PRICE, Decimal("1.00"))]
    assert contract.start_date == START != case.desired_start
    drafted = contract.goals.splitlines()
    assert len(drafted) == len(GOALS)
    assert all(goal in line for goal, line in zip(GOALS, drafted, strict=True))
    assert drafted[0].startswith("Udvikle: ")  # the goal type, in Danish, as the summary prints it
    assert contract.further_services == "Ledsagelse til lægen"
    assert "Lise Leverandør" in contract.supplier_contact and "lise@leverandoer.example" in contract.supplier_contact
    assert contract.legal_basis == case.legal_basis == "SEL-108"
    assert contract.acting_municipality == contract.paying_municipality == app.config["MUNICIPALITY_NAME"]
    assert contract.list_price_annual == Decimal("912500.00")
    assert contract.annual_cost == Decimal("894432.50")
    assert contract.offer_name == "Solhøj"
    assert contracts.current(case) == contract
    assert contracts.complete(contract)


def test_only_procurement_can_start_the_draft_on_the_page(app, staff, make_client, request_ctx):
    case = build_terms_case(app, staff)
    url = f"/cases/{case.id}/contract/start"
    page = f"/cases/{case.id}/contract"
    for login in ("economy", "caseworker", "manager"):
        assert web_post(make_client, login, url, {}, page).status_code == 403, login
    assert contracts.current(case) is None
    response = web_post(make_client, "procurement", url, {}, page)
    assert response.status_code == 302
    db.session.expire_all()
    contract = contracts.current(case)
    assert contract is not None and contract.drafted_by_id == staff.procurement.id
    # A second start is refused: there is a draft already.
    assert web_post(make_client, "procurement", url, {}, page).status_code == 403
    assert len(contracts.versions(case)) == 1


def test_only_procurement_and_economy_on_the_case_edit_in_stage_terms(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    editors = {login for login in staff if contracts.can_edit(case, contract, staff[login])}
    assert editors == {"procurement", "economy"}

    before = snapshot(contract.id)
    for login in ("caseworker", "manager", "admin", "procurement_other", "economy_other"):
        with pytest.raises(ServiceError):
            contracts.save_terms(case, contract, staff[login], None, terms_of(contract, payment_days=14))
        db.session.rollback()
    assert snapshot(contract.id) == before

    contracts.save_terms(case, contract, staff.economy, None, terms_of(contract, payment_days=14))
    commit()
    assert snapshot(contract.id)["payment_days"] == 14

    # Once submitted (stage 5) nobody edits, not even procurement.
    contracts.submit(case, contract, staff.procurement)
    commit()
    before = snapshot(contract.id)
    for login in ("procurement", "economy"):
        assert not contracts.can_edit(case, contract, staff[login])
        with pytest.raises(ServiceError):
            contracts.save_terms(case, contract, staff[login], None, terms_of(contract, payment_days=7))
        db.session.rollback()
    assert snapshot(contract.id) == before


def test_terms_page_saves_for_procurement_and_refuses_others(app, staff, make_client, request_ctx):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    url = f"/cases/{case.id}/contract"
    before = snapshot(contract.id)
    assert web_post(make_client, "caseworker", url, terms_form(contract, payment_days="10"), url).status_code == 403
    assert web_post(make_client, "manager", url, terms_form(contract, payment_days="10"), url).status_code == 403
    assert web_post(make_client, "procurement_other", url, terms_form(contract, payment_days="10"),
                    "/").status_code == 404
    assert snapshot(contract.id) == before

    # Bad input on the page is shown on the form and changes nothing.
    for bad in ({"payment_days": "31"}, {"lines-0-unit_price": "-5,00"}, {"lines-0-unit_price": "",
                                                                          "lines-0-description": ""},
                {"review_date": "01-01-2027", "duration_months": ""}):
        response = web_post(make_client, "procurement", url, terms_form(contract, **bad), url)
        assert response.status_code == 200, bad
        assert snapshot(contract.id) == before, bad

    response = web_post(make_client, "procurement", url, terms_form(
        contract, payment_days="10", **{"lines-1-description": "Ledsagelse", "lines-1-unit": "time",
                                         "lines-1-unit_price": "450,25", "lines-1-quantity": "7,5"}), url)
    assert response.status_code == 302
    after = snapshot(contract.id)
    assert after["payment_days"] == 10
    assert after["lines"] == [("Døgntakst", "døgn", Decimal("2450.50"), Decimal("1.00"), False),
                              ("Ledsagelse", "time", Decimal("450.25"), Decimal("7.50"), False)]


BAD_TERMS = {
    "payment days above 30": {"payment_days": 31},
    "negative payment days": {"payment_days": -1},
    "no price line": {"lines": []},
    "negative price": {"lines": [line("døgn", "-2450.50")]},
    "zero price": {"lines": [line("døgn", "0")]},
    "zero quantity": {"lines": [line("time", "450", "0")]},
    "unknown unit": {"lines": [line("uge", "100")]},
    "review date before start": {"review_date": START - timedelta(days=1)},
    "review date on start": {"review_date": START},
    "unknown payment terms": {"payment_terms": "whenever"},
    "bad EAN": {"acting_ean": "12345"},
    "duration above 240": {"duration_months": 241},
}


@pytest.mark.parametrize("changes", BAD_TERMS.values(), ids=BAD_TERMS.keys())
def test_bad_terms_are_refused_and_change_nothing(app, staff, request_ctx, changes):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    before = snapshot(contract.id)
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(ServiceError):
        contracts.save_terms(case, contract, staff.procurement, contract.version, terms_of(contract, **changes))
    db.session.rollback()
    assert snapshot(contract.id) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audits


def test_a_stale_save_is_refused(app, staff, request_ctx):
    from workflow.services import StaleEdit

    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    loaded = contract.version
    contracts.save_terms(case, contract, staff.economy, loaded, terms_of(contract, payment_days=20))
    commit()
    with pytest.raises(StaleEdit):
        contracts.save_terms(case, contract, staff.procurement, loaded, terms_of(contract, payment_days=10))


# --- 2. Decimal totals -----------------------------------------------------------------------------------------

def test_yearly_price_per_unit_is_exact_decimal():
    assert pricing.yearly(Decimal("2450.50"), "døgn") == Decimal("894432.50")
    assert pricing.yearly(Decimal("12000.00"), "måned") == Decimal("144000.00")
    assert pricing.yearly(Decimal("450.25"), "time", Decimal("7.5")) == Decimal("175597.50")
    assert pricing.yearly(Decimal("15000.75"), "engangsbeløb") == Decimal("15000.75")
    assert pricing.yearly(Decimal("0.10"), "døgn", Decimal(3)) == Decimal("109.50")  # 0.1 × 3 × 365, no float drift
    for value in (pricing.yearly(Decimal("2450.50"), "døgn"), pricing.yearly_total([])):
        assert isinstance(value, Decimal)
    with pytest.raises(TypeError):
        from workflow.i18n import money
        money(894432.5)


def test_annual_cost_total_value_and_difference_are_exact(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    lines = [line("døgn", "2450.50"), line("måned", "12000.00"), line("time", "450.25", "7.5"),
             line("engangsbeløb", "15000.75")]
    contracts.save_terms(case, contract, staff.procurement, None, terms_of(contract, lines=lines, duration_months=24))
    commit()
    db.session.expire_all()
    contract = db.session.get(ContractVersion, contract.id)

    # 894.432,50 + 144.000,00 + 175.597,50 + 15.000,75
    assert contract.annual_cost == Decimal("1229030.75")
    assert contract.years == Decimal(2)
    assert contract.total_value == Decimal("2458061.50")
    assert contract.list_price_annual == Decimal("912500.00")
    assert contract.difference_from_list == Decimal("316530.75")
    for value in (contract.annual_cost, contract.total_value, contract.difference_from_list, contract.years):
        assert isinstance(value, Decimal)
    assert contract.total_value.as_tuple().exponent == -2

    # 18 months is one and a half years; 7 months is 7/12 of the annual cost, rounded to the øre.
    contracts.save_terms(case, contract, staff.procurement, None, terms_of(contract, duration_months=18))
    assert contract.total_value == Decimal("1843546.12")  # 1.843.546,125 rounded half to even
    contracts.save_terms(case, contract, staff.procurement, None,
                         terms_of(contract, lines=[line("døgn", "2450.50")], duration_months=7))
    assert contract.total_value == Decimal("521752.29")    # 894.432,50 × 7 / 12 = 521.752,2916…
    assert contract.difference_from_list == Decimal("-18067.50")

    # Over a review date instead of a duration: the years between start and review (365.25 days a year).
    contracts.save_terms(case, contract, staff.procurement, None,
                         terms_of(contract, duration_months=None, review_date=START + timedelta(days=730)))
    assert contract.years == Decimal("2.00")
    assert contract.total_value == Decimal("1788865.00")
    contracts.save_terms(case, contract, staff.procurement, None,
                         terms_of(contract, duration_months=None, review_date=START + timedelta(days=550)))
    assert contract.years == Decimal("1.51")                # 550 / 365.25 = 1.5058
    assert contract.total_value == Decimal("1350593.08")    # 894.432,50 × 1,51 = 1.350.593,075
    # Neither: no total value.
    contracts.save_terms(case, contract, staff.procurement, None,
                         terms_of(contract, duration_months=None, review_date=None))
    assert contract.total_value is None
    # A duration wins over a review date.
    contracts.save_terms(case, contract, staff.procurement, None,
                         terms_of(contract, duration_months=12, review_date=START + timedelta(days=3000)))
    assert contract.total_value == Decimal("894432.50")
    commit()

    # What the database hands back is exact too (whole øre).
    db.session.expire_all()
    stored = db.session.get(ContractVersion, contract.id)
    assert stored.lines[0].unit_price == Decimal("2450.50") and isinstance(stored.lines[0].unit_price, Decimal)
    assert stored.annual_cost == Decimal("894432.50")


# --- 3. EU light-regime threshold ------------------------------------------------------------------------------

def test_eu_threshold_warning_only_above_the_setting(app, staff, make_client, request_ctx):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    assert settings.get("eu_threshold_dkk") == 5_595_000

    # 894.432,50 a year: 75 months are 5.590.203,12 (below), 76 months 5.664.739,17 (above).
    contracts.save_terms(case, contract, staff.procurement, None, terms_of(contract, duration_months=75))
    assert contract.total_value == Decimal("5590203.12")
    assert not contracts.eu_threshold_passed(contract)
    commit()
    page = make_client("procurement").get(f"/cases/{case.id}/contract").get_data(as_text=True)
    assert "alert-warning" not in page
    assert contract_pdf.summary_data(case, contract, draft=True)["eu_warning"] is False

    contracts.save_terms(case, contract, staff.procurement, None, terms_of(contract, duration_months=76))
    assert contract.total_value == Decimal("5664739.17")
    assert contracts.eu_threshold_passed(contract)
    commit()
    page = make_client("procurement").get(f"/cases/{case.id}/contract").get_data(as_text=True)
    assert "alert-warning" in page
    assert contract_pdf.summary_data(case, contract, draft=True)["eu_warning"] is True

    # The threshold comes from the settings; a total exactly at it does not warn.
    settings.change("eu_threshold_dkk", 5_664_740)
    assert not contracts.eu_threshold_passed(contract)
    settings.change("eu_threshold_dkk", 5_664_739)
    assert contracts.eu_threshold_passed(contract)


# --- 4. Four eyes and tiers ------------------------------------------------------------------------------------

def test_tiers_follow_the_settings(app, staff, request_ctx):
    settings.change("approval_tiers", [{"name": "Lille", "limit": "100000"}, {"name": "Stor", "limit": None}])
    commit()
    assert contracts.tier_for(Decimal("100000.00")) == "Lille"
    assert contracts.tier_for(Decimal("100000.01")) == "Stor"


@pytest.mark.parametrize(("annual", "tier"), [
    ("0.00", "Teamleder"), ("500000.00", "Teamleder"), ("500000.01", "Afdelingsleder"),
    ("894432.50", "Afdelingsleder"), ("2000000.00", "Afdelingsleder"), ("2000000.01", "Direktør"),
    ("99999999.00", "Direktør")])
def test_tier_for_annual_cost(db, annual, tier):
    assert contracts.tier_for(Decimal(annual)) == tier


def _refused_and_unchanged(case, contract, status: str, stage: Stage, action):
    with pytest.raises(ServiceError):
        action()
    db.session.rollback()
    db.session.expire_all()
    fresh = db.session.get(ContractVersion, contract.id)
    assert fresh.status == status
    assert db.session.get(PurchaseCase, case.id).stage == stage
    assert fresh.approved_by_id is None and fresh.pdf is None


@pytest.mark.parametrize(("login", "allowed"), [
    ("procurement", True), ("economy", False), ("caseworker", False), ("manager", False), ("admin", False),
    ("procurement_other", False)])
def test_who_may_submit(app, staff, request_ctx, login, allowed):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    if allowed:
        contracts.submit(case, contract, staff[login])
        commit()
        assert (contract.status, contract.submitted_by_id, case.stage) == ("submitted", staff[login].id,
                                                                            Stage.APPROVAL)
    else:
        _refused_and_unchanged(case, contract, "draft", Stage.TERMS,
                               lambda: contracts.submit(case, contract, staff[login]))


@pytest.mark.parametrize(("login", "allowed"), [
    ("economy", True),
    ("procurement", False),        # drafted and submitted the terms
    ("procurement_other", False),  # not on the case
    ("economy_other", False),
    ("caseworker", False),
    ("manager", False),
    ("admin", False)])
def test_who_may_review(app, staff, request_ctx, login, allowed):
    case = build_terms_case(app, staff)
    contract = submitted(case, staff)
    if allowed:
        contracts.review(case, contract, staff[login])
        commit()
        assert (contract.status, contract.reviewed_by_id, case.stage) == ("reviewed", staff[login].id,
                                                                           Stage.APPROVAL)
    else:
        _refused_and_unchanged(case, contract, "submitted", Stage.APPROVAL,
                               lambda: contracts.review(case, contract, staff[login]))


def test_another_procurement_colleague_may_review_but_never_the_drafter_or_submitter(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)                 # drafted by procurement
    case.procurement_id = staff.procurement_other.id        # the case moves to another buyer, who submits
    commit()
    contracts.submit(case, contract, staff.procurement_other)
    commit()
    case.economy_id = staff.procurement.id                  # the drafter is back on the case, in economy's seat
    commit()
    for login in ("procurement", "procurement_other"):
        _refused_and_unchanged(case, contract, "submitted", Stage.APPROVAL,
                               lambda login=login: contracts.review(case, contract, staff[login]))
    # A third procurement colleague, neither drafter nor submitter, may review.
    third = user_service.create_user(login="procurement3", full_name="Tredje Indkøber", email="p3@example.org",
                                     role=Role.PROCUREMENT, unit=staff.procurement.unit, password=PASSWORD)
    case.economy_id = third.id
    commit()
    contracts.review(case, contract, third)
    commit()
    db.session.expire_all()
    assert (contract.status, contract.reviewed_by_id) == ("reviewed", third.id)


APPROVERS = [
    # login, approval limit to create (None: a staff fixture user), allowed
    ("manager", None, True),                    # limit 2.000.000
    ("exact_limit", "894432.50", True),          # limit equal to the annual cost
    ("teamleder", "500000.00", False),           # below the tier
    ("just_below", "894432.49", False),
    ("no_limit", "none", False),                 # a manager without a limit approves nothing
    ("manager_other", None, False),              # another unit: not on the case
    ("caseworker", None, False),
    ("economy", None, False),
    ("procurement", None, False),
    ("admin", None, False),
]


def _approver(staff, login, limit):
    if limit is None:
        return staff[login]
    return make_manager(staff, login, None if limit == "none" else limit)


@pytest.mark.parametrize(("login", "limit", "allowed"), APPROVERS, ids=[a[0] for a in APPROVERS])
def test_who_may_approve_through_the_service(app, staff, request_ctx, login, limit, allowed):
    case = build_terms_case(app, staff)
    contract = reviewed(case, staff)
    actor = _approver(staff, login, limit)
    if allowed:
        contracts.approve(case, contract, actor)
        commit()
        assert (contract.status, contract.approved_by_id, case.stage) == ("approved", actor.id, Stage.DELIVERY)
        assert contract.pdf.startswith(b"%PDF") and contract.pdf_sha256 == hashlib.sha256(contract.pdf).hexdigest()
        assert events_of(contract)[-1][:2] == ("approved", actor.id)
        assert contracts.history([contract.id])[-1].tier == "Afdelingsleder"
    else:
        _refused_and_unchanged(case, contract, "reviewed", Stage.APPROVAL,
                               lambda: contracts.approve(case, contract, actor))
        assert [e[0] for e in events_of(contract)] == ["submitted", "reviewed"]


@pytest.mark.parametrize(("login", "limit", "allowed"), APPROVERS, ids=[a[0] for a in APPROVERS])
def test_who_may_approve_through_the_page(app, staff, make_client, request_ctx, login, limit, allowed):
    """The server decides: a direct POST by a user without the approve button changes nothing."""
    case = build_terms_case(app, staff)
    contract = reviewed(case, staff)
    actor = _approver(staff, login, limit)
    page = f"/cases/{case.id}/contract"
    client = make_client(actor.login)
    shown = client.get(page)
    button = f'action="/cases/{case.id}/contract/approve"'
    assert (button in shown.get_data(as_text=True)) is allowed
    token = csrf_token(shown if shown.status_code == 200 else client.get("/"))
    response = client.post(f"/cases/{case.id}/contract/approve", data={"csrf_token": token,
                                                                      "version": str(case.version)})
    db.session.expire_all()
    fresh = db.session.get(ContractVersion, contract.id)
    if allowed:
        assert response.status_code == 302
        assert fresh.status == "approved" and fresh.approved_by_id == actor.id
    else:
        expected = {"admin": 403, "manager_other": 404}.get(login, 303)
        assert response.status_code == expected
        assert (fresh.status, fresh.approved_by_id, fresh.pdf) == ("reviewed", None, None)
        assert db.session.get(PurchaseCase, case.id).stage == Stage.APPROVAL


def test_the_drafter_and_the_submitter_never_approve(app, staff, request_ctx):
    """A manager who drafted the terms (as draft_from_choice allows) is refused at approval."""
    case = build_terms_case(app, staff)
    contract = contracts.draft_from_choice(case, staff.manager, TODAY)
    commit()
    contracts.submit(case, contract, staff.procurement)
    contracts.review(case, contract, staff.economy)
    commit()
    _refused_and_unchanged(case, contract, "reviewed", Stage.APPROVAL,
                           lambda: contracts.approve(case, contract, staff.manager))
    second = make_manager(staff, "second_manager", "2000000")
    contracts.approve(case, db.session.get(ContractVersion, contract.id), second)
    commit()
    assert db.session.get(ContractVersion, contract.id).status == "approved"


def test_approval_needs_a_review_first(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    contract = submitted(case, staff)
    _refused_and_unchanged(case, contract, "submitted", Stage.APPROVAL,
                           lambda: contracts.approve(case, contract, staff.manager))


def test_tiers_decide_who_approves_cheap_and_dear_contracts(app, staff, request_ctx):
    teamleder = make_manager(staff, "teamleder", "500000")
    director = make_manager(staff, "direktoer", "10000000")

    cheap = build_terms_case(app, staff, price=Decimal("1000.00"), cpr="0202801234")   # 365.000 a year
    contract = reviewed(cheap, staff)
    assert contracts.tier_for(contract.annual_cost) == "Teamleder"
    contracts.approve(cheap, contract, teamleder)
    commit()
    assert contract.status == "approved"

    dear = build_terms_case(app, staff, price=Decimal("6000.00"), cpr="0303801234")     # 2.190.000 a year
    contract = reviewed(dear, staff)
    assert contracts.tier_for(contract.annual_cost) == "Direktør"
    for refused in (teamleder, staff.manager):
        _refused_and_unchanged(dear, contract, "reviewed", Stage.APPROVAL,
                               lambda refused=refused: contracts.approve(dear, contract, refused))
    contract = db.session.get(ContractVersion, contract.id)
    contracts.approve(db.session.get(PurchaseCase, dear.id), contract, director)
    commit()
    assert contract.status == "approved"
    assert contracts.history([contract.id])[-1].tier == "Direktør"


def test_a_stale_approval_is_refused(app, staff, make_client, request_ctx):
    case = build_terms_case(app, staff)
    contract = reviewed(case, staff)
    client = make_client("manager")
    token = csrf_token(client.get(f"/cases/{case.id}/contract"))
    response = client.post(f"/cases/{case.id}/contract/approve",
                           data={"csrf_token": token, "version": str(case.version - 1)})
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(ContractVersion, contract.id).status == "reviewed"


# --- 5. Rejection ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reason", ["", "   \n "])
def test_rejection_needs_a_reason(app, staff, request_ctx, reason):
    case = build_terms_case(app, staff)
    contract = reviewed(case, staff)
    _refused_and_unchanged(case, contract, "reviewed", Stage.APPROVAL,
                           lambda: contracts.reject(case, contract, staff.manager, reason))


def test_rejection_on_the_page_needs_a_reason_and_sends_the_terms_back(app, staff, make_client, request_ctx):
    case = build_terms_case(app, staff)
    contract = reviewed(case, staff)
    url = f"/cases/{case.id}/contract/reject"
    client = make_client("manager")
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, data={"csrf_token": csrf_token(page), "version": str(case.version), "reason": ""})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(ContractVersion, contract.id).status == "reviewed"

    # A caseworker cannot reject.
    assert web_post(make_client, "caseworker", url, {"version": str(case.version), "reason": "Nej"},
                    f"/cases/{case.id}/contract").status_code == 200
    db.session.expire_all()
    assert db.session.get(ContractVersion, contract.id).status == "reviewed"

    reason = "Prisen er for høj; forhandl døgntaksten ned."
    response = client.post(url, data={"csrf_token": csrf_token(client.get(url)), "version": str(case.version),
                                      "reason": reason})
    assert response.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(ContractVersion, contract.id)
    assert (fresh.status, fresh.submitted_by_id, fresh.reviewed_by_id) == ("draft", None, None)
    assert db.session.get(PurchaseCase, case.id).stage == Stage.TERMS
    assert [(a, r) for a, _actor, r in events_of(fresh)] == [("submitted", None), ("reviewed", None),
                                                             ("rejected", reason)]
    assert events_of(fresh)[-1][1] == staff.manager.id
    assert reason in make_client("procurement").get(f"/cases/{case.id}/contract").get_data(as_text=True)


def test_rejected_terms_are_edited_and_go_round_again_keeping_the_history(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    contract = submitted(case, staff)
    contracts.reject(case, contract, staff.economy, "Mangler tillægsydelse")
    commit()
    assert (contract.status, case.stage) == ("draft", Stage.TERMS)
    assert contracts.can_edit(case, contract, staff.procurement)
    contracts.save_terms(case, contract, staff.procurement, None,
                         terms_of(contract, lines=[line("døgn", "2450.50"), line("måned", "1000", "1")]))
    contracts.submit(case, contract, staff.procurement)
    contracts.review(case, contract, staff.economy)
    contracts.approve(case, contract, staff.manager)
    commit()
    assert [e[0] for e in events_of(contract)] == ["submitted", "rejected", "submitted", "reviewed", "approved"]
    assert events_of(contract)[1][2] == "Mangler tillægsydelse"
    # Only terms waiting for approval can be rejected.
    with pytest.raises(ServiceError):
        contracts.reject(case, contract, staff.manager, "For sent")


def test_approval_events_are_append_only(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    contract = submitted(case, staff)
    contracts.reject(case, contract, staff.manager, "Forkert startdato")
    commit()
    event = db.session.scalars(select(ApprovalEvent).where(ApprovalEvent.action == "rejected")).one()
    event.reason = "Ingen begrundelse"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    event = db.session.scalars(select(ApprovalEvent).where(ApprovalEvent.action == "rejected")).one()
    event.actor_id = staff.economy.id
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalars(select(ApprovalEvent).where(ApprovalEvent.action == "rejected")).one())
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    assert [(e.action, e.reason) for e in contracts.history([contract.id])] == [
        ("submitted", None), ("rejected", "Forkert startdato")]


# --- 6. Frozen once approved; new versions supersede -----------------------------------------------------------

FROZEN_CHANGES = {
    "supplier_name": "Andet Botilbud ApS",
    "supplier_cvr": "99999999",
    "goals": "Nye mål",
    "payment_days": 5,
    "start_date": date(2030, 1, 1),
    "duration_months": 60,
    "primary_service": "Noget andet",
    "list_price_annual": Decimal("1.00"),
    "pdf": b"%PDF-1.7 forfalsket",
    "pdf_sha256": "0" * 64,
    "document_id": "SK-KON-FORFALSKET",
    "approved_by_id": "caseworker",
    "drafted_by_id": "caseworker",
    "status": "draft",
}


@pytest.mark.parametrize(("field", "value"), FROZEN_CHANGES.items(), ids=FROZEN_CHANGES.keys())
def test_an_approved_version_is_frozen(app, staff, request_ctx, field, value):
    case = build_terms_case(app, staff)
    contract = approved(case, staff)
    before = snapshot(contract.id)
    contract = db.session.get(ContractVersion, contract.id)
    setattr(contract, field, staff[value].id if isinstance(value, str) and value in staff else value)
    with pytest.raises(FrozenContractError):
        db.session.flush()
    db.session.rollback()
    assert snapshot(contract.id) == before


def _price_line_edits():
    def change_price(contract, staff):
        contract.lines[0].unit_price = Decimal("1.00")

    def change_unit(contract, staff):
        contract.lines[0].unit = "måned"

    def delete_line(contract, staff):
        db.session.delete(contract.lines[0])

    def remove_from_list(contract, staff):
        contract.lines.remove(contract.lines[0])

    def replace_lines(contract, staff):
        contract.lines = [ContractPriceLine(description="Ny", unit="døgn", unit_price=Decimal(1), quantity=1)]

    def append_line(contract, staff):
        contract.lines.append(ContractPriceLine(description="Ekstra", unit="måned", unit_price=Decimal(9),
                                                quantity=Decimal(1)))

    return {f.__name__: f for f in (change_price, change_unit, delete_line, remove_from_list, replace_lines,
                                    append_line)}


LINE_EDITS = _price_line_edits()


@pytest.mark.parametrize("edit", LINE_EDITS.values(), ids=LINE_EDITS.keys())
def test_the_price_lines_of_an_approved_version_are_frozen(app, staff, request_ctx, edit):
    case = build_terms_case(app, staff)
    contract = approved(case, staff)
    before = snapshot(contract.id)
    contract = db.session.get(ContractVersion, contract.id)
    edit(contract, staff)
    with pytest.raises(FrozenContractError):
        db.session.flush()
    db.session.rollback()
    assert snapshot(contract.id) == before


def test_a_line_cannot_be_inserted_into_an_approved_version_by_its_id(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    contract = approved(case, staff)
    db.session.add(ContractPriceLine(contract_id=contract.id, description="Snydt ind", unit="måned",
                                     unit_price=Decimal("50000.00"), quantity=Decimal(1)))
    with pytest.raises(FrozenContractError):
        db.session.flush()


def test_save_terms_refuses_an_approved_version(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    contract = approved(case, staff)
    place_in_stage(case, Stage.TERMS)          # even back in stage 4, the approved version is not a draft
    before = snapshot(contract.id)
    for login in ("procurement", "economy"):
        with pytest.raises(ServiceError):
            contracts.save_terms(case, contract, staff[login], None, terms_of(contract, payment_days=1))
        db.session.rollback()
    assert snapshot(contract.id) == before


def test_a_new_version_is_a_draft_copy_and_its_approval_supersedes_the_old(app, staff, make_client, request_ctx):
    case = build_terms_case(app, staff)
    with pytest.raises(ServiceError):
        contracts.new_version(case, staff.procurement)    # nothing approved yet
    db.session.rollback()
    first = approved(case, staff)
    first_pdf, first_sha = first.pdf, first.pdf_sha256

    # Change within frame: back to stage 4 with a draft copy of the version in force.
    place_in_stage(case, Stage.TERMS)
    second = contracts.new_version(case, staff.procurement)
    commit()
    assert (second.number, second.status, second.drafted_by_id) == (2, "draft", staff.procurement.id)
    assert (second.submitted_by_id, second.reviewed_by_id, second.approved_by_id, second.pdf, second.pdf_sha256,
            second.document_id) == (None, None, None, None, None, None)
    copied = {c.key for c in ContractVersion.__table__.columns} - {
        "id", "number", "status", "submitted_by_id", "reviewed_by_id", "approved_by_id", "approved_at", "created_at",
        "pdf", "pdf_sha256", "document_id", "version", "drafted_by_id"}
    assert {k: getattr(second, k) for k in copied} == {k: getattr(first, k) for k in copied}
    assert [(x.description, x.unit, x.unit_price, x.quantity) for x in second.lines] == [
        (x.description, x.unit, x.unit_price, x.quantity) for x in first.lines]
    assert {x.id for x in second.lines}.isdisjoint({x.id for x in first.lines})
    assert contracts.current(case) == second and contracts.in_force(case) == first

    # Renegotiated price; submit, review and approve again (another flow of the four eyes).
    contracts.save_terms(case, second, staff.procurement, None, terms_of(second, lines=[line("døgn", "2300.00")]))
    contracts.submit(case, second, staff.procurement)
    commit()
    with pytest.raises(ServiceError):
        contracts.review(case, second, staff.procurement)
    db.session.rollback()
    contracts.review(case, second, staff.economy)
    commit()
    # Until version 2 is approved, the PDF route gives version 1 as archived, and the draft on request.
    client = make_client("manager")
    assert client.get(f"/cases/{case.id}/contract.pdf").get_data() == first_pdf
    draft = client.get(f"/cases/{case.id}/contract.pdf?draft=1").get_data()
    assert draft != first_pdf and "UDKAST" in pdf_text(draft)

    contracts.approve(case, second, staff.manager)
    commit()
    db.session.expire_all()
    first, second = (db.session.get(ContractVersion, c.id) for c in (first, second))
    assert (first.status, second.status) == ("superseded", "approved")
    assert (first.pdf, first.pdf_sha256) == (first_pdf, first_sha)      # the old summary stays as archived
    assert second.document_id != first.document_id and second.pdf_sha256 != first_sha
    assert second.annual_cost == Decimal("839500.00")
    assert contracts.in_force(case) == second and contracts.current(case) == second
    assert client.get(f"/cases/{case.id}/contract.pdf").get_data() == second.pdf
    # The superseded version stays frozen, and cannot come back.
    for field, value in (("status", "approved"), ("payment_days", 1)):
        setattr(first, field, value)
        with pytest.raises(FrozenContractError):
            db.session.flush()
        db.session.rollback()
        first = db.session.get(ContractVersion, first.id)


# --- 7. The PDF summary ----------------------------------------------------------------------------------------

def _pdf_case(app, staff):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    # 2.450,50 × 365 = 894.432,50 plus 245.885,90 once: 1.140.318,40 a year, 2.280.636,80 over 24 months.
    contracts.save_terms(case, contract, staff.procurement, None, terms_of(
        contract, lines=[line("døgn", "2450.50", description="Døgntakst"),
                         line("engangsbeløb", "245885.90", description="Indflytning og hjælpemidler")],
        duration_months=24))
    commit()
    return case, contract


def _check_summary(text: str, case, contract, pages: int) -> None:
    joined = flat(text)
    for expected in ("Eksempel Kommune", SUPPLIER, f"CVR {contract.supplier_cvr}", "894.432,50", "245.885,90",
                     "1.140.318,40", "2.280.636,80", "2.450,50", *GOALS, CITIZEN, MASKED_CPR, case.number):
        assert flat(expected) in joined, expected
    assert pages >= 2
    assert flat(f"Side 1 af {pages}") in joined and flat(f"Side {pages} af {pages}") in joined
    digits = re.sub(r"[\s\-.]", "", text)
    for form in CPR_FORMS:
        assert form not in text
    assert CPR not in digits


def test_draft_pdf_has_parties_prices_goals_watermark_and_no_cpr(app, staff, make_client, request_ctx):
    case, contract = _pdf_case(app, staff)
    response = make_client("procurement").get(f"/cases/{case.id}/contract.pdf?draft=1")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "udkast" in response.headers["Content-Disposition"]
    body = response.get_data()
    reader = PdfReader(io.BytesIO(body))
    text = pdf_text(body)
    _check_summary(text, case, contract, len(reader.pages))
    assert "UDKAST" in text
    assert flat(f"UDKAST-{case.number}-1") in flat(text)        # the draft's document id
    metadata = " ".join(str(v) for v in (reader.metadata or {}).values())
    assert all(form not in metadata for form in CPR_FORMS)


def test_approved_pdf_is_archived_byte_for_byte_and_is_pdf_a(app, staff, make_client, request_ctx):
    case, contract = _pdf_case(app, staff)
    contracts.submit(case, contract, staff.procurement)
    contracts.review(case, contract, staff.economy)
    contracts.approve(case, contract, staff.manager)
    commit()
    assert re.fullmatch(rf"SK-KON-{case.id:06d}-01-[0-9a-f]{{8}}", contract.document_id)

    client = make_client("caseworker")
    first = client.get(f"/cases/{case.id}/contract.pdf")
    second = client.get(f"/cases/{case.id}/contract.pdf?draft=1")      # no draft: the approved one
    assert first.status_code == second.status_code == 200
    assert first.mimetype == "application/pdf"
    assert f"{case.number}-kontrakt-v1.pdf" in first.headers["Content-Disposition"]
    body = first.get_data()
    assert body == second.get_data() == contract.pdf
    assert hashlib.sha256(body).hexdigest() == contract.pdf_sha256

    reader = PdfReader(io.BytesIO(body))
    text = pdf_text(body)
    _check_summary(text, case, contract, len(reader.pages))
    assert "UDKAST" not in text
    assert flat(contract.document_id) in flat(text)
    assert staff.manager.full_name in text                                 # the approval history

    # PDF/A: the XMP metadata names the PDF/A part, the output intent is GTS_PDFA1, the fonts are embedded.
    assert body.startswith(b"%PDF-")
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"pdfaid" in xmp and re.search(rb"pdfaid:part(>|=\")3", xmp)
    intents = reader.trailer["/Root"]["/OutputIntents"]
    assert any(intent.get_object()["/S"] == "/GTS_PDFA1" for intent in intents)
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font)["/FontDescriptor"].get_object()
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font


def test_pdf_route_is_only_for_those_who_see_the_case(app, staff, make_client, request_ctx):
    case, _contract = _pdf_case(app, staff)
    for login, status in (("procurement_other", 404), ("manager_other", 404), ("admin", 403),
                          ("economy", 200), ("manager", 200)):
        assert make_client(login).get(f"/cases/{case.id}/contract.pdf?draft=1").status_code == status, login
    assert make_client().get(f"/cases/{case.id}/contract.pdf").status_code in (302, 401)


def test_goals_edited_in_the_terms_appear_in_the_summary(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    contracts.save_terms(case, contract, staff.procurement, None,
                         terms_of(contract, goals="Kan selv tage bussen til beskæftigelsestilbuddet"))
    commit()
    text = pdf_text(contract_pdf.render(case, contract, draft=True))
    assert flat("Kan selv tage bussen til beskæftigelsestilbuddet") in flat(text)


# --- 8. Hostile input in the terms -----------------------------------------------------------------------------

DATA_URL = "url(data:image/png;base64," + "QUFB" * 450 + ")"           # as long as the page's form allows
HUGE_DATA_URL = "url(data:image/png;base64," + "QUFB" * 250_000 + ")"   # 1 MB, through the service
PAYLOADS = {
    "img": '<img src="file:///etc/passwd">',
    "link": '<link rel=stylesheet href="http://127.0.0.1:9/x.css">',
    "attachment": '<link rel="attachment" href="file:///etc/passwd">',
    "style": "<style>@import url(file:///etc/hosts)</style>",
    "script": "<script>alert(1)</script>",
    "inline": '<p style="background:url(http://127.0.0.1:9/bg.png)">x</p>',
    "object": '<object data="file:///etc/passwd"></object>',
}
# The `fetched` fixture (tests/support/pdf.py) lists every URL WeasyPrint asked the fetcher for.


def test_markup_in_every_free_text_field_is_printed_as_text_and_fetches_nothing(app, staff, request_ctx, fetched):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    p = PAYLOADS
    hostile = {  # within each column's length
        "acting_municipality": p["img"], "paying_municipality": p["script"], "acting_contact": p["style"],
        "supplier_contact": p["link"] + " " + p["attachment"], "price_regulation": p["inline"],
        "framework_reference": p["object"], "primary_service": " ".join(p.values()),
        "further_services": p["style"] + " " + DATA_URL, "goals": "\n".join(p.values()),
        "absence_rules": p["attachment"] + p["img"], "documentation_duties": p["link"] + p["script"],
        "data_processing": p["inline"] + p["style"]}
    contracts.save_terms(case, contract, staff.procurement, None, terms_of(
        contract, **hostile, lines=[line("døgn", "2450.50", description=p["img"]),
                                    line("måned", "100", description=p["link"])]))
    commit()
    body = contract_pdf.render(case, contract, draft=True)
    reader = PdfReader(io.BytesIO(body))
    text = pdf_text(body)
    joined = flat(text)
    for name, value in hostile.items():
        assert flat(value) in joined, name
    assert flat(p["img"]) in joined and flat(p["link"]) in joined       # the price line descriptions
    assert "root:x:0" not in text and "localhost" not in text
    assert not reader.attachments

    assert any(url == f"{STATIC_BASE}css/pdf.css" and ok for url, ok in fetched)
    for url, ok in fetched:
        assert url.startswith(STATIC_BASE) or not ok, url
        if ok:
            assert url.startswith(STATIC_BASE) and ".." not in url
    assert not [url for url, _ok in fetched if not url.startswith(STATIC_BASE)]   # escaped: never even asked


def test_a_huge_data_url_in_the_terms_is_printed_not_fetched(app, staff, request_ctx, fetched):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    payload = f'<div style="background:{HUGE_DATA_URL}">x</div>'
    contracts.save_terms(case, contract, staff.procurement, None, terms_of(contract, further_services=payload))
    commit()
    started = time.monotonic()
    body = contract_pdf.render(case, contract, draft=True)        # within the default time limit
    assert time.monotonic() - started < pdf_module.DEFAULT_TIMEOUT_SECONDS
    assert len(PdfReader(io.BytesIO(body)).pages) >= 2
    assert not [url for url, _ok in fetched if not url.startswith(STATIC_BASE)]
    assert not [url for url, _ok in fetched if "QUFB" in url]
    if shutil.which("pdftotext"):   # pypdf stops at 100.000 elements in one text array
        text = subprocess.run(["pdftotext", "-", "-"], input=body, capture_output=True, check=True).stdout.decode()
        assert flat('<div style="background:url(data:image/png;base64,QUFBQUFB') in flat(text)


def test_raw_hostile_html_gets_nothing_from_the_fetcher(app_ctx, fetched):
    """Were the markup ever unescaped, the fetcher would still refuse everything but our static files."""
    html = ("<html><head>" + PAYLOADS["link"] + PAYLOADS["attachment"] + PAYLOADS["style"]
            + '<link rel="stylesheet" href="https://socialkob.invalid/static/../../../../etc/passwd">'
            + "<style>body{background:url(data:image/png;base64,iVBORw0KGgo=)}</style></head><body>"
            + PAYLOADS["img"] + PAYLOADS["inline"] + PAYLOADS["object"]
            + '<img src="data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22/>">'
            + '<a rel="attachment" href="file:///etc/hosts">vedhæft</a><p>Indhold</p></body></html>')
    with app_ctx.test_request_context():
        body = html_to_pdf(html)
    reader = PdfReader(io.BytesIO(body))
    assert "Indhold" in pdf_text(body)
    assert not reader.attachments
    asked = {url for url, _ok in fetched}
    assert any(url.startswith("file:///etc/passwd") for url in asked)     # WeasyPrint did ask ...
    assert any(url.startswith("http://127.0.0.1:9/") for url in asked)
    assert any(url.startswith("data:") for url in asked)
    assert not [url for url, ok in fetched if ok]                        # ... and got nothing


def test_static_only_fetcher_serves_static_files_and_refuses_the_rest(app):
    fetcher = StaticOnlyFetcher(app.static_folder)
    css = Path(app.static_folder) / "css" / "pdf.css"
    response = fetcher.fetch(f"{STATIC_BASE}css/pdf.css")
    assert response.headers["Content-Type"] == "text/css"
    body = response.body if hasattr(response, "body") else response.read()
    if not isinstance(body, bytes):
        body = body.read()
    assert body == css.read_bytes()
    assert fetcher.fetch(f"{STATIC_BASE}css/pdf.css?v=2#x") is not None
    refused = [
        f"{STATIC_BASE}../workflow/__init__.py",
        f"{STATIC_BASE}css/../../wsgi.py",
        f"{STATIC_BASE}../../../../../../etc/passwd",
        f"{STATIC_BASE}/etc/passwd",
        f"{STATIC_BASE}css/",
        f"{STATIC_BASE}css/missing.css",
        f"{STATIC_BASE}%2e%2e/wsgi.py",
        "https://socialkob.invalid/static-other/css/pdf.css",
        "https://socialkob.invalid/wsgi.py",
        "file:///etc/passwd",
        f"file://{css}",
        "http://127.0.0.1:9/x.css",
        "https://example.org/static/css/pdf.css",
        "data:text/css,body{color:red}",
        "data:image/png;base64," + "A" * 100_000,
        "ftp://127.0.0.1/x",
    ]
    for url in refused:
        with pytest.raises(ValueError):
            fetcher.fetch(url)


# --- 9. Render time limit --------------------------------------------------------------------------------------

def test_a_slow_render_is_abandoned(app_ctx, monkeypatch):
    class SlowHTML:
        def __init__(self, *args, **kwargs):
            pass

        def write_pdf(self, **kwargs):
            time.sleep(3)
            return b"%PDF-late"

    monkeypatch.setattr(pdf_module, "HTML", SlowHTML)
    started = time.monotonic()
    with pytest.raises(RenderTimeout):
        html_to_pdf("<p>x</p>", timeout=0.2)
    assert time.monotonic() - started < 2


def test_a_big_document_with_a_tiny_time_limit_is_abandoned(app_ctx):
    html = "<html><body>" + "".join(f"<p>Afsnit {n} " + "tekst " * 40 + "</p>" for n in range(4000)) + "</body></html>"
    with pytest.raises(RenderTimeout):
        html_to_pdf(html, timeout=0.05)


def test_render_errors_reach_the_caller(app_ctx, monkeypatch):
    class BrokenHTML:
        def __init__(self, *args, **kwargs):
            pass

        def write_pdf(self, **kwargs):
            raise OSError("disk full")

    monkeypatch.setattr(pdf_module, "HTML", BrokenHTML)
    with pytest.raises(OSError, match="disk full"):
        html_to_pdf("<p>x</p>", timeout=5)


def test_a_failed_render_leaves_the_terms_unapproved(app, staff, request_ctx, monkeypatch):
    case = build_terms_case(app, staff)
    contract = reviewed(case, staff)

    def too_slow(case, contract, draft):
        raise RenderTimeout("PDF rendering took more than 30 s")

    monkeypatch.setattr(contract_pdf, "render", too_slow)
    with pytest.raises(RenderTimeout):
        contracts.approve(case, contract, staff.manager)
    db.session.rollback()
    db.session.expire_all()
    fresh = db.session.get(ContractVersion, contract.id)
    assert (fresh.status, fresh.pdf, fresh.approved_by_id) == ("reviewed", None, None)
    assert db.session.get(PurchaseCase, case.id).stage == Stage.APPROVAL
    assert [e[0] for e in events_of(fresh)] == ["submitted", "reviewed"]


def test_facts_describe_the_working_version(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    assert contracts.facts(case) == {}
    contract = submitted(case, staff)
    facts = contracts.facts(case)
    assert facts["terms_complete"] and facts["annual_cost"] == Decimal("894432.50")
    assert (facts["drafted_by_id"], facts["submitted_by_id"], facts["reviewed"]) == (
        staff.procurement.id, staff.procurement.id, False)
    contracts.review(case, contract, staff.economy)
    commit()
    assert contracts.facts(case)["reviewed"] and contracts.facts(case)["reviewed_by_id"] == staff.economy.id
    contracts.approve(case, contract, staff.manager)
    commit()
    assert contracts.facts(case) == {}

