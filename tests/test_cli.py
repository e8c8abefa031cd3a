"""The command-line tasks."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from tests.conftest import get_user
from workflow import clock
from workflow.cli import DEMO_PASSWORD, DEMO_USERS, seed_demo_data
from workflow.models import CaseEnding, ContractVersion, FollowUp, PurchaseCase, Role
from workflow.services import contracts, followup, passwords


def _cases_by_stage(db) -> Counter:
    counted = db.session.execute(select(PurchaseCase.stage, func.count()).group_by(PurchaseCase.stage))
    return Counter(dict(counted.all()))


def _next_follow_up_states(db) -> Counter:
    running = db.session.scalars(select(PurchaseCase).where(PurchaseCase.stage == "follow_up"))
    return Counter(followup.state_of(followup.next_open(case), clock.today()) for case in running)


def _changed_within_frame(db) -> list[PurchaseCase]:
    """Cases whose version 2 is in force and version 1 superseded."""
    found = db.session.scalars(select(PurchaseCase).join(ContractVersion).where(
        ContractVersion.number == 2, ContractVersion.status == "approved")).all()
    for case in found:
        assert [v.status for v in contracts.versions(case)] == ["superseded", "approved"]
    return found


def _assert_running_placements_with_histories(db) -> None:
    """The full demo's stages 6–8: placements of both units, years of follow-ups, a change, endings."""
    stages = _cases_by_stage(db)
    assert 25 <= stages["follow_up"] <= 40 and stages["delivery"] >= 2
    assert 2 <= stages["ending"] <= 3 and 3 <= stages["closed"] <= 5
    assert all(stages[stage] == 4 for stage in ("needs", "market_scan", "dialogue", "terms", "approval", "cancelled"))

    running = db.session.scalars(select(PurchaseCase).where(PurchaseCase.stage == "follow_up")).all()
    assert len({case.unit_id for case in running}) == 2 and len({case.legal_basis for case in running}) >= 5
    assert len({contracts.in_force(case).supplier_cvr for case in running}) >= 10
    assert all(case.delivery_started_on < clock.today() for case in running)
    assert max((clock.today() - case.delivery_started_on).days for case in running) > 2 * 365
    states = _next_follow_up_states(db)
    assert states["overdue"] >= 3 and states["soon"] >= 2 and states["scheduled"] >= 10

    held = db.session.scalars(
        select(FollowUp).where(FollowUp.kind == "individual", FollowUp.held_on.is_not(None))).all()
    assert Counter(f.outcome for f in held)["continue"] >= 25
    assert all(f.goal_scores and f.participants and f.quality for f in held)
    assert len({s.score for f in held for s in f.goal_scores}) == 3
    invoiced = [f for f in held if f.invoiced is not None]
    assert len(invoiced) >= 25 and any(f.difference > 0 for f in invoiced)
    assert all(abs(f.difference) <= f.contract_amount / 10 for f in invoiced)
    assert db.session.scalar(select(func.count(FollowUp.id)).where(FollowUp.kind == "supplier_review",
                                                                   FollowUp.held_on.is_not(None))) >= 10

    changed = _changed_within_frame(db)
    assert 1 <= len(changed) <= 2
    version = contracts.in_force(changed[0])
    assert (version.submitted_by.role, version.reviewed_by.role, version.approved_by.role) == (
        Role.PROCUREMENT, Role.ECONOMY, Role.MANAGER)

    endings = Counter()
    for ending in db.session.scalars(select(CaseEnding)):
        endings[ending.case.stage] += 1
        assert ending.end_date and ending.reason and ending.notice_date and ending.computed_cost > 0
        if ending.case.stage == "closed":
            assert ending.complete and ending.end_date < clock.today() and ending.case.closed_at is not None
    assert endings == Counter({"ending": stages["ending"], "closed": stages["closed"]})


def test_seed_demo_fills_an_empty_database_once(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for login, _name, role, _unit, _limit in DEMO_USERS:
        user = get_user(login)
        assert user.role == role
        assert passwords.verify_password(user.password_hash, DEMO_PASSWORD)
    _assert_running_placements_with_histories(db)
    seeded = _cases_by_stage(db), db.session.scalar(select(func.count(FollowUp.id)))
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "already" in again.output
    assert (_cases_by_stage(db), db.session.scalar(select(func.count(FollowUp.id)))) == seeded


def test_smaller_demo_has_one_placement_of_each_kind(app, db):
    """The browser tests' demo: every stage and due state, and a change within frame."""
    seed_demo_data(offers=120, cases=18)
    stages = _cases_by_stage(db)
    assert sum(stages.values()) == 18
    assert stages["delivery"] == stages["ending"] == stages["closed"] == 1
    assert set(_next_follow_up_states(db)) == {"overdue", "soon", "scheduled"}
    assert len(_changed_within_frame(db)) == 1


def test_seed_demo_refuses_a_database_with_real_data(app, staff):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "real data" in result.output
    first_time = app.test_cli_runner().invoke(args=["seed-demo", "--first-time"])
    assert first_time.exit_code == 0
    assert get_user("admin").full_name != "Anders Administrator"


def test_create_user_asks_for_the_password(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "jens", "--name", "Jens Jensen", "--email", "jens@example.org",
                                 "--role", "manager", "--unit", "Børn og Familie", "--approval-limit", "500.000"],
                           input="et langt hemmeligt ord\net langt hemmeligt ord\n")
    assert result.exit_code == 0, result.output
    user = get_user("jens")
    assert user.unit.name == "Børn og Familie" and str(user.approval_limit) == "500000.00"
    assert "et langt hemmeligt ord" not in result.output


def test_create_user_refuses_a_weak_password_and_has_no_password_option(app, db):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["create-user", "kim", "--name", "Kim", "--email", "kim@example.org",
                               "--role", "economy", "--unit", "Økonomi"], input="password1234\npassword1234\n")
    assert weak.exit_code != 0 and get_user("kim") is None
    option = runner.invoke(args=["create-user", "kim", "--name", "Kim", "--email", "kim@example.org",
                                 "--role", "economy", "--unit", "Økonomi", "--password", "x"])
    assert option.exit_code != 0
