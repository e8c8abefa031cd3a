"""Command-line tasks: `flask --app wsgi <command>`."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import func, select

from workflow.extensions import db
from workflow.models import Role, Unit, User
from workflow.services import ServiceError, users

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo login, refused on real data
DEMO_UNITS = ("Voksenhandicap", "Børn og Familie", "Indkøb", "Økonomi", "Digitalisering")
DEMO_USERS = (
    # login, full name, role, unit, approval limit
    ("caseworker", "Camilla Sagsbehandler", Role.CASEWORKER, "Voksenhandicap", None),
    ("procurement", "Peter Indkøber", Role.PROCUREMENT, "Indkøb", None),
    ("economy", "Eva Økonom", Role.ECONOMY, "Økonomi", None),
    ("manager", "Mette Leder", Role.MANAGER, "Voksenhandicap", "2000000.00"),
    ("admin", "Anders Administrator", Role.ADMIN, "Digitalisering", None),
)


def _has_data() -> bool:
    return bool(db.session.scalar(select(func.count(User.id))))


def _is_demo_only() -> bool:
    logins = set(db.session.scalars(select(User.login)))
    return logins == {login for login, *_ in DEMO_USERS}


def seed_demo_data() -> None:
    from decimal import Decimal

    units = {name: users.create_unit(name) for name in DEMO_UNITS}
    for login, full_name, role, unit, limit in DEMO_USERS:
        users.create_user(login=login, full_name=full_name, email=f"{login}@socialkob.example",
                          role=role, unit=units[unit], password=DEMO_PASSWORD,
                          approval_limit=Decimal(limit) if limit else None)


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--first-time", is_flag=True, help="Seed only an empty database; otherwise do nothing.")
    def seed_demo(first_time: bool):
        """Fill an empty database with demo units, users (password 'demo-password') and cases."""
        if _has_data():
            if first_time or _is_demo_only():
                click.echo("The database has data already; demo data not seeded again.")
                return
            raise click.ClickException("The database holds real data; refusing to add demo data.")
        seed_demo_data()
        db.session.commit()
        click.echo("Demo data seeded. Sign in as " + ", ".join(login for login, *_ in DEMO_USERS)
                   + f" with the password '{DEMO_PASSWORD}'.")

    @app.cli.command("create-user")
    @click.argument("login")
    @click.option("--name", "full_name", required=True, help="Full name.")
    @click.option("--email", required=True)
    @click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
    @click.option("--unit", "unit_name", required=True, help="Name of the unit (created if missing).")
    @click.option("--approval-limit", default=None, help="Managers: highest annual cost they may approve.")
    def create_user(login, full_name, email, role, unit_name, approval_limit):
        """Create a user; the password is asked for, never taken as an argument."""
        from workflow.forms import parse_money

        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

        unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
        try:
            unit = unit or users.create_unit(unit_name)
            limit = parse_money(approval_limit) if approval_limit else None
            user = users.create_user(login=login, full_name=full_name, email=email, role=role,
                                     unit=unit, password=password, approval_limit=limit)
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error
        except ValueError as error:
            db.session.rollback()
            raise click.ClickException(f"Not an amount: {approval_limit}") from error
        db.session.commit()
        click.echo(f"User {user.login} created.")
