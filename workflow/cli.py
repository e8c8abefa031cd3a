"""Command-line tasks: `flask --app wsgi <command>`."""
from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from sqlalchemy import func, select
from werkzeug.sansio.utils import host_is_trusted

from workflow import clock, demo
from workflow.extensions import db
from workflow.models import Role, Unit, User
from workflow.services import ServiceError, users

DEMO_PASSWORD = demo.DEMO_PASSWORD
DEMO_USERS = demo.DEMO_USERS


def _has_data() -> bool:
    return bool(db.session.scalar(select(func.count(User.id))))


def _is_demo_only() -> bool:
    logins = set(db.session.scalars(select(User.login)))
    return logins == {login for login, *_ in DEMO_USERS}


def seed_demo_data(offers: int = 400, cases: int = 36) -> None:
    """Staff, an offer registry and a few dozen cases in all stages (smaller for browser tests).

    Runs in a request context so that the suppliers' links in the demo inquiries are complete URLs.
    """
    host = os.environ.get("HOST") or current_app.config["TRUSTED_HOSTS"][0]
    base_url = f"http://{host}:{os.environ.get('PORT', '5000')}"
    with current_app.test_request_context(base_url=base_url):
        people = demo.seed_staff()
        demo.seed_registry(offers)
        demo.seed_cases(people, count=cases)


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else many or one + 's'}"


def _link_base_url(given: str | None) -> str | None:
    """Where links in mails sent from the command line point, as there is no request to take it from.

    --base-url (or BASE_URL) when given; else Flask's SERVER_NAME when set (None: Flask uses it);
    else the first trusted host, over https, or as `make run` serves it in development.
    """
    config = current_app.config
    if given:
        parts = urlsplit(given)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise click.ClickException(f"Not a base URL such as https://socialkob.kommune.dk: {given}")
        if not host_is_trusted(parts.netloc, config["TRUSTED_HOSTS"]):
            raise click.ClickException(f"The base URL's host is not in TRUSTED_HOSTS: {parts.netloc}")
        return given.rstrip("/")
    if config.get("SERVER_NAME"):
        return None
    host = config["TRUSTED_HOSTS"][0]
    if config.get("APP_ENV") == "development":
        return f"http://{os.environ.get('HOST') or host}:{os.environ.get('PORT', '5000')}"
    return f"https://{host}"


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--first-time", is_flag=True, help="Seed only an empty database; otherwise do nothing.")
    @click.option("--cases", "case_count", type=click.IntRange(1, 2_000_000), default=None,
                  help="Also write this many extra cases with fast bulk inserts (benchmarks).")
    def seed_demo(first_time: bool, case_count: int | None):
        """Fill an empty database with demo units, users (password 'demo-password') and cases."""
        if _has_data():
            if not _is_demo_only():
                if first_time:
                    click.echo("The database has data already; demo data not seeded.")
                    return
                raise click.ClickException("The database holds real data; refusing to add demo data.")
            if not case_count:
                click.echo("The database has demo data already; nothing seeded again.")
                return
        else:
            seed_demo_data()
            db.session.commit()
            click.echo("Demo data seeded. Sign in as " + ", ".join(demo.MAIN_LOGINS)
                       + f" (and more, see README) with the password '{DEMO_PASSWORD}'.")
        if case_count:
            started = time.perf_counter()
            written = demo.bulk_cases(case_count)
            db.session.commit()
            click.echo(f"{written} cases written in {time.perf_counter() - started:.1f} s.")
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

    @app.cli.command("import-offers")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def import_offers(file: str):
        """Import the offer registry from a CSV file (columns: see README); all rows or none."""
        from workflow.services import offer_import

        with open(file, "rb") as handle:
            data = handle.read(offer_import.MAX_CHARS * 4 + 1)  # UTF-8 takes at most 4 bytes a character
        if len(data) > offer_import.MAX_CHARS * 4:
            raise click.ClickException(f"The file is too large: at most {offer_import.MAX_CHARS} characters.")
        try:
            plan = offer_import.plan_import(offer_import.decode(data))
        except ServiceError as error:
            raise click.ClickException(error.message) from error
        if not plan.ok:
            for row_error in plan.errors:
                click.echo(str(row_error), err=True)
            db.session.rollback()
            raise click.ClickException(f"{len(plan.errors)} error(s); nothing was imported.")
        try:
            summary = offer_import.apply_import(plan, actor=None)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        click.echo("Imported: " + ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in summary.items()))

    @app.cli.command("send-reminders")
    @click.option("--dry-run", is_flag=True, help="Print the mails that would be sent; send and record nothing.")
    @click.option("--base-url", envvar="BASE_URL", default=None,
                  help="The app's public address for the links, e.g. https://socialkob.kommune.dk "
                       "(default: the first of TRUSTED_HOSTS over https).")
    def send_reminders(dry_run: bool, base_url: str | None):
        """Mail each responsible person their follow-ups soon due or overdue; run daily from cron."""
        from workflow.services import reminders

        with current_app.test_request_context(base_url=_link_base_url(base_url)):
            report = reminders.send_reminders(clock.today(), dry_run=dry_run)
        for planned in report.mails if dry_run else ():
            click.echo(f"To: {', '.join(planned.mail.to)}\nSubject: {planned.mail.subject}\n\n{planned.mail.body}")
        people, follow_ups = _count(report.people, "person", "people"), _count(report.follow_ups, "follow-up")
        click.echo(f"{report.today:%d-%m-%Y}{' (dry run)' if dry_run else ''}: "
                   f"{people} {'would be ' if dry_run else ''}mailed about {follow_ups}; "
                   f"{_count(report.skipped, 'reminder')} skipped (inactive user or no e-mail address).")
        if not report.ok:
            ids = ", ".join(str(user_id) for user_id in report.failed_user_ids)
            raise click.ClickException(f"Sending failed to {_count(len(report.failed_user_ids), 'person', 'people')} "
                                       f"(user id {ids}); the next run tries again. See the log.")

    @app.cli.command("create-token")
    @click.argument("login")
    @click.option("--name", required=True, help="What the token is for, e.g. the case-file system.")
    @click.option("--days", type=click.IntRange(1, 366), default=90, show_default=True,
                  help="Days the token is valid.")
    def create_token(login: str, name: str, days: int):
        """Create a personal API token for LOGIN and print it once (only its hash is stored)."""
        from datetime import timedelta

        from workflow.services import api_tokens

        user = db.session.scalar(select(User).where(User.login == login))
        if user is None:
            raise click.ClickException(f"No user with the login {login}.")
        today = clock.today()
        try:
            created = api_tokens.create(user, name, today + timedelta(days=days), today)
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error
        db.session.commit()
        click.echo(f"Token '{created.token.name}' for {user.login}, valid until {created.token.expires_on:%d-%m-%Y}. "
                   "It is shown only now:", err=True)
        click.echo(created.secret)
