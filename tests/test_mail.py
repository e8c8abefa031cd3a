"""Mail: through a real SMTP server on loopback (aiosmtpd), into the outbox, and refusing bad input."""
from __future__ import annotations

import logging
import smtplib
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.support.smtp import Collector, free_port
from tests.support.smtp import smtp_server as running_smtp_server
from workflow.extensions import db
from workflow.models import Unit
from workflow.services.mail import Mail, not_sent, outbox_messages, send, send_after_commit

SUBJECT = "Bevilling godkendt: bostøtte i Ærø og Åbenrå"
BODY = "Kære sagsbehandler,\n\nSagen om støtte til ørkenvandring er godkendt.\n\nMed venlig hilsen\nSocialkøb\n"


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 for the length of one test."""
    with running_smtp_server() as (controller, handler):
        yield controller, handler


@pytest.fixture
def use_server(app, monkeypatch):
    def use(controller, **settings):
        monkeypatch.setitem(app.config, "MAIL_SERVER", controller.hostname)
        monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
        monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
        monkeypatch.setitem(app.config, "MAIL_USERNAME", "")
        monkeypatch.setitem(app.config, "MAIL_PASSWORD", "")
        monkeypatch.setitem(app.config, "MAIL_SENDER", "Socialkøb <socialkob@kommune.example>")
        for key, value in settings.items():
            monkeypatch.setitem(app.config, key, value)
    return use


def test_sends_through_a_real_smtp_server(app_ctx, smtp_server, use_server, caplog):
    controller, handler = smtp_server
    use_server(controller)
    mail = Mail(to=["anne@borger.example", "bo@leverandor.example"], subject=SUBJECT, body=BODY,
                reply_to="svar@kommune.example")
    with caplog.at_level(logging.INFO, logger="workflow.services.mail"):
        message_id = send(mail)

    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.mail_from == "socialkob@kommune.example"
    assert sorted(envelope.rcpt_tos) == ["anne@borger.example", "bo@leverandor.example"]
    received = BytesParser(policy=policy.default).parsebytes(envelope.content)
    assert received["From"].addresses[0].addr_spec == "socialkob@kommune.example"
    assert received["From"].addresses[0].display_name == "Socialkøb"
    assert [a.addr_spec for a in received["To"].addresses] == ["anne@borger.example", "bo@leverandor.example"]
    assert received["Reply-To"] == "svar@kommune.example"
    assert received["Subject"] == SUBJECT
    assert received["Message-ID"] == message_id
    assert message_id.startswith("<") and message_id.endswith("@kommune.example>")
    assert received["Date"]
    assert received.get_content_charset() == "utf-8"
    assert received.get_content().replace("\r\n", "\n") == BODY  # SMTP carries CRLF line ends
    # What goes over the wire is 7-bit: the Danish letters are encoded.
    assert envelope.content.isascii()

    # One log line per mail, with the recipients' domains only.
    lines = [record.getMessage() for record in caplog.records if record.name == "workflow.services.mail"]
    assert len(lines) == 1
    assert "borger.example" in lines[0] and "leverandor.example" in lines[0]
    assert "anne" not in lines[0] and "bo@" not in lines[0]
    assert "ørkenvandring" not in caplog.text


def test_logs_in_when_a_username_is_set(app_ctx, use_server):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"hemmeligt", handled=False)

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        use_server(controller, MAIL_USERNAME="socialkob", MAIL_PASSWORD="hemmeligt")
        send(Mail(to=["anne@borger.example"], subject=SUBJECT, body=BODY))
        assert logins == [(b"socialkob", b"hemmeligt")]
        assert len(handler.envelopes) == 1

        use_server(controller, MAIL_USERNAME="socialkob", MAIL_PASSWORD="forkert")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            send(Mail(to=["anne@borger.example"], subject=SUBJECT, body=BODY))
        assert len(handler.envelopes) == 1
    finally:
        controller.stop()


def test_tls_required_but_not_offered_sends_nothing(app_ctx, smtp_server, use_server):
    controller, handler = smtp_server
    use_server(controller, MAIL_USE_TLS=True)
    with pytest.raises(smtplib.SMTPNotSupportedError):
        send(Mail(to=["anne@borger.example"], subject=SUBJECT, body=BODY))
    assert handler.envelopes == []


def test_server_down_raises(app_ctx, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens there
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))
    with pytest.raises(ConnectionRefusedError):
        send(Mail(to=["anne@borger.example"], subject=SUBJECT, body=BODY))
    assert not (tmp_path / "outbox").exists()  # no silent fallback to the outbox


def test_outbox_without_a_server(app_ctx, app, monkeypatch, tmp_path):
    outbox = tmp_path / "nested" / "outbox"
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(outbox))
    assert outbox_messages() == []

    first = send(Mail(to=["anne@borger.example"], subject=SUBJECT, body=BODY))
    second = send(Mail(to=["bo@leverandor.example"], subject="Anden", body="Ålborg\n"))

    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    parsed = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert parsed["Subject"] == SUBJECT
    assert parsed.get_content() == BODY

    messages = outbox_messages()
    assert [m["Message-ID"] for m in messages] == [first, second]
    assert messages[0]["To"] == "anne@borger.example"
    assert messages[0]["From"] == app.config["MAIL_SENDER"]
    assert messages[1].get_content() == "Ålborg\n"


def test_outbox_never_overwrites(app_ctx, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path))
    ids = {send(Mail(to=["anne@borger.example"], subject=f"Nr. {i}", body="x\n")) for i in range(20)}
    assert len(ids) == 20
    assert len(list(tmp_path.glob("*.eml"))) == 20
    assert [m["Subject"] for m in outbox_messages()] == [f"Nr. {i}" for i in range(20)]


@pytest.mark.parametrize("mail", [
    Mail(to=["anne@borger.example\r\nBcc: evil@angriber.example"], subject="Hej", body="x"),
    Mail(to=["anne@borger.example\nBcc: evil@angriber.example"], subject="Hej", body="x"),
    Mail(to=["anne@borger.example"], subject="Hej\r\nBcc: evil@angriber.example", body="x"),
    Mail(to=["anne@borger.example"], subject="Hej\nX-Header: 1", body="x"),
    Mail(to=["anne@borger.example"], subject="Hej\r", body="x"),
    Mail(to=["anne@borger.example"], subject="Hej", body="x", reply_to="svar@kommune.example\r\nBcc: e@x.example"),
    Mail(to=["anne@borger.example, evil@angriber.example"], subject="Hej", body="x"),
    Mail(to=[], subject="Hej", body="x"),
], ids=["to-crlf", "to-lf", "subject-crlf", "subject-lf", "subject-cr", "reply-to-crlf", "two-in-one", "no-recipient"])
def test_header_injection_refused(app_ctx, app, monkeypatch, tmp_path, smtp_server, mail):
    controller, handler = smtp_server
    for server in ("", controller.hostname):
        monkeypatch.setitem(app.config, "MAIL_SERVER", server)
        monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
        monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path))
        with pytest.raises(ValueError):
            send(mail)
    assert handler.envelopes == []
    assert list(tmp_path.iterdir()) == []


def test_body_may_have_line_breaks(app_ctx, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path))
    send(Mail(to=["anne@borger.example"], subject="Hej", body="Linje 1\r\nBcc: ikke en header\n"))
    (message,) = outbox_messages()
    assert message["Bcc"] is None
    assert "Bcc: ikke en header" in message.get_content()


def test_repr_hides_the_body():
    assert "hemmelig" not in repr(Mail(to=["anne@borger.example"], subject="Hej", body="hemmelig"))


# --- Mail that leaves after the commit ---------------------------------------------------------------------------

@pytest.fixture
def outbox(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))


def _unit_with_mail(name: str, sent=None) -> None:
    """A row and a mail about it in one transaction."""
    db.session.add(Unit(name=name))
    send_after_commit(Mail(to=["anne@borger.example"], subject=name, body=BODY), sent=sent)


def _units() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(Unit.name).order_by(Unit.name)))


def test_a_queued_mail_leaves_only_after_the_commit(db, outbox):
    recorded = []
    _unit_with_mail("Voksenhandicap", sent=lambda connection: recorded.append(connection.in_transaction()))
    db.session.flush()
    assert outbox_messages() == [] and recorded == []
    db.session.commit()
    assert [m["Subject"] for m in outbox_messages()] == ["Voksenhandicap"]
    assert recorded == [True], "`sent` runs after the mail went, in a transaction of its own"
    assert not_sent() == []


@pytest.mark.parametrize("end", ["rollback", "close", "failed commit"])
def test_a_queued_mail_never_leaves_without_its_commit(db, outbox, end):
    db.session.add(Unit(name="Børn og Familie"))
    db.session.commit()
    _unit_with_mail("Børn og Familie")  # the same name: the commit fails on the unique constraint
    if end == "failed commit":
        with pytest.raises(IntegrityError):
            db.session.commit()
    if end == "close":
        db.session.close()
    else:
        db.session.rollback()
    assert outbox_messages() == []
    db.session.commit()  # the next transaction does not send the dropped mail either
    assert outbox_messages() == [] and _units() == ["Børn og Familie"]


def test_a_savepoint_commit_does_not_send(db, outbox):
    with db.session.begin_nested():
        _unit_with_mail("Indkøb")
    assert outbox_messages() == []
    db.session.commit()
    assert [m["Subject"] for m in outbox_messages()] == ["Indkøb"]


def test_a_mail_that_fails_after_the_commit_is_reported_and_the_commit_stands(db, smtp_server, use_server, caplog):
    controller, handler = smtp_server
    use_server(controller)
    handler.refused = {"bo@leverandor.example"}
    recorded = []
    _unit_with_mail("Økonomi", sent=recorded.append)
    db.session.add(Unit(name="Indkøb"))
    send_after_commit(Mail(to=["bo@leverandor.example"], subject="Afvist", body=BODY), sent=recorded.append)
    with caplog.at_level(logging.WARNING, logger="workflow.services.mail"):
        db.session.commit()
    assert [m["Subject"] for m in handler.messages()] == ["Økonomi"]
    assert [mail.subject for mail in not_sent()] == ["Afvist"] and len(recorded) == 1
    assert _units() == ["Indkøb", "Økonomi"]
    assert "leverandor.example" in caplog.text and "bo@" not in caplog.text  # the domain, never the address
    db.session.commit()
    assert not_sent() == [], "each commit reports its own mails"


def test_a_bad_address_fails_the_transaction_not_the_sending(db, outbox):
    db.session.add(Unit(name="Digitalisering"))
    with pytest.raises(ValueError):
        send_after_commit(Mail(to=["anne@borger.example\r\nBcc: evil@angriber.example"], subject="x", body="x"))
    db.session.rollback()
    assert outbox_messages() == [] and _units() == []
