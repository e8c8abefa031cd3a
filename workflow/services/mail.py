"""Sending mail: through the configured SMTP server, or into a local outbox folder.

With MAIL_SERVER set, a mail goes through smtplib (STARTTLS when MAIL_USE_TLS, login when
MAIL_USERNAME is set). Without it, the mail is written as an .eml file into MAIL_OUTBOX, for a
developer to open and for the tests to read with outbox_messages().

Errors from the SMTP server (refused connection, rejected login, missing STARTTLS) propagate from
send(): the caller decides whether to retry, report or roll back.

A mail about something written in the same transaction (an inquiry with its secret link, a supplier
told they were not chosen) is queued with send_after_commit() instead: it leaves only once the
transaction has committed, and a rollback, a failed commit or a session closed without committing
drops it. A mail that then fails is logged and listed by not_sent(); the commit stands, so the
caller records what was sent (the `sent` callback) rather than what was meant to be.
"""
from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path

from flask import current_app
from sqlalchemy import Connection, event

from workflow.extensions import db

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 10  # seconds


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str = field(repr=False)  # a mail that ends up in a log or traceback shows no body
    reply_to: str | None = None


def _has_line_break(value: str) -> bool:
    return "\r" in value or "\n" in value


def _check_address(address: str, what: str) -> None:
    """One plain address per entry: no line breaks (header injection) and no hidden extra recipient."""
    if not isinstance(address, str) or _has_line_break(address):
        raise ValueError(f"{what}: line breaks are not allowed in an address")
    parsed = getaddresses([address])
    if len(parsed) != 1 or "@" not in parsed[0][1]:
        raise ValueError(f"{what}: not a single e-mail address")


def _domain(address: str) -> str:
    return getaddresses([address])[0][1].rpartition("@")[2].lower() if address else ""


def _domains(addresses: list[str]) -> str:
    return ",".join(sorted({_domain(address) for address in addresses}))


def _validate(mail: Mail, sender: str) -> None:
    if isinstance(mail.to, str) or not mail.to:
        raise ValueError("to: give a non-empty list of addresses")
    for address in mail.to:
        _check_address(address, "to")
    if mail.reply_to is not None:
        _check_address(mail.reply_to, "reply_to")
    _check_address(sender, "MAIL_SENDER")
    if _has_line_break(mail.subject):
        raise ValueError("subject: line breaks are not allowed")


def build_message(mail: Mail) -> EmailMessage:
    """The mail as a UTF-8 EmailMessage with From, To, Subject, Date and Message-ID."""
    sender = current_app.config["MAIL_SENDER"]
    _validate(mail, sender)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = ", ".join(mail.to)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=_domain(sender) or None)
    # Quoted-printable keeps the body 7-bit, so any SMTP server takes it as it is.
    message.set_content(mail.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    return message


def _send_smtp(message: EmailMessage, config) -> None:
    with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=SMTP_TIMEOUT) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        smtp.send_message(message)


def _write_outbox(message: EmailMessage, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = message.as_bytes(policy=policy.default)
    while True:
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(6)}.eml"
        path = folder / name
        try:
            with path.open("xb") as handle:  # exclusive: never overwrite an existing mail
                handle.write(data)
        except FileExistsError:
            continue
        return path


def send(mail: Mail) -> str:
    """Send `mail` (or write it into the outbox) and return its Message-ID.

    Raises ValueError for a line break in an address or the subject (header injection); SMTP and
    connection errors propagate to the caller.
    """
    message = build_message(mail)
    config = current_app.config
    if config.get("MAIL_SERVER"):
        _send_smtp(message, config)
        how = "sent via SMTP"
    else:
        path = _write_outbox(message, Path(config["MAIL_OUTBOX"]))
        how = f"written to outbox as {path.name}"
    log.info("mail %s %s to domain(s) %s", message["Message-ID"], how, _domains(mail.to))
    return message["Message-ID"]


def outbox_messages() -> list[EmailMessage]:
    """The mails in MAIL_OUTBOX, oldest first (sorted by file name); for development and tests."""
    folder = Path(current_app.config["MAIL_OUTBOX"])
    if not folder.is_dir():
        return []
    parser = BytesParser(policy=policy.default)
    messages = []
    for path in sorted(folder.glob("*.eml")):
        with path.open("rb") as handle:
            messages.append(parser.parse(handle))
    return messages


# --- Mail that leaves after the commit ---

_QUEUED, _COMMITTED, _NOT_SENT = "mail.queued", "mail.committed", "mail.not_sent"  # keys in Session.info


@dataclass
class _Queued:
    mail: Mail
    sent: Callable[[Connection], object] | None


def send_after_commit(mail: Mail, sent: Callable[[Connection], object] | None = None) -> None:
    """Send `mail` once the current transaction has committed; if it rolls back, the mail never leaves.

    The mail is checked now (a bad address fails the transaction, not the sending). `sent` runs once the mail
    has been handed over, in a short transaction of its own on the connection it is given, to record that it
    went. A mail that cannot be sent is logged and listed by not_sent() after the commit; the commit stands.
    """
    _validate(mail, current_app.config["MAIL_SENDER"])
    db.session.info.setdefault(_QUEUED, []).append(_Queued(mail, sent))


def not_sent() -> list[Mail]:
    """The mails queued with send_after_commit() that could not be sent after the last commit."""
    return list(db.session.info.get(_NOT_SENT, []))


def _deliver(session, queued: list[_Queued]) -> list[Mail]:
    failed = []
    for item in queued:
        try:
            send(item.mail)
        except Exception as error:  # noqa: BLE001 - the transaction has committed: report, never raise
            # The error's text may hold the address: log the domain and the kind of error only.
            log.warning("mail to domain(s) %s not sent after commit: %s", _domains(item.mail.to),
                        type(error).__name__)
            failed.append(item.mail)
            continue
        if item.sent is not None:
            try:
                with session.get_bind().begin() as connection:
                    item.sent(connection)
            except Exception as error:  # noqa: BLE001 - the mail went; only the record of it is missing
                log.warning("mail to domain(s) %s sent but not recorded: %s", _domains(item.mail.to),
                            type(error).__name__)
    return failed


@event.listens_for(db.session, "after_commit")
def _committed(session) -> None:
    if session.get_nested_transaction() is None:  # a savepoint's commit is not the transaction's
        session.info[_COMMITTED] = True


@event.listens_for(db.session, "after_rollback")
def _rolled_back(session) -> None:
    # Also a savepoint's rollback drops every queued mail: better unsent (and shown so) than about a lost write.
    dropped = session.info.pop(_QUEUED, [])
    if dropped:
        log.info("%d queued mail(s) dropped: the transaction was rolled back", len(dropped))


@event.listens_for(db.session, "after_transaction_end")
def _transaction_ended(session, transaction) -> None:
    if transaction.parent is not None:
        return
    queued = session.info.pop(_QUEUED, [])
    if session.info.pop(_COMMITTED, False):
        session.info[_NOT_SENT] = _deliver(session, queued)
    elif queued:
        log.info("%d queued mail(s) dropped: the transaction ended without a commit", len(queued))
