"""The command-line tasks."""
from __future__ import annotations

from tests.conftest import get_user
from workflow.cli import DEMO_PASSWORD, DEMO_USERS
from workflow.services import passwords


def test_seed_demo_creates_one_user_per_role(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for login, _name, role, _unit, _limit in DEMO_USERS:
        user = get_user(login)
        assert user.role == role
        assert passwords.verify_password(user.password_hash, DEMO_PASSWORD)
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "already" in again.output


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
