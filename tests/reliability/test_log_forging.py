"""Line breaks and other control characters in user input never forge a line in the log.

The app's logging (workflow/logging_setup.py) makes every record safe where it is created: control
characters in arguments, or in a message built from input, are escaped, and every line of a traceback is
marked as a continuation. These tests read the log as the app's console handler writes it, and gunicorn's
access log as gunicorn writes it.
"""
from __future__ import annotations

import base64
import io
import logging
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config as GunicornConfig
from gunicorn.glogging import Logger as GunicornLogger

from tests.conftest import PASSWORD
from workflow import create_app, logging_setup

FORGED = "x\n2026-11-26 12:00:00 INFO workflow.auth: admin signed in"
FORGED_LINE = re.compile(r"^2026-11-26 12:00:00 INFO workflow\.auth: admin signed in", re.M)
RECORD_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} [A-Z]+ [\w.]+: ")


@pytest.fixture
def log_text(app):
    """What the console handler of the app writes during the test (INFO and up, the app's format)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(logging_setup.FORMAT))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream.getvalue
    root.removeHandler(handler)
    root.setLevel(level)


def assert_not_forged(text: str) -> None:
    assert text, "nothing was logged"
    assert not FORGED_LINE.search(text), text
    for line in text.splitlines():
        assert RECORD_START.match(line) or line.startswith(logging_setup.CONTINUATION), f"a stray line: {line!r}"


def test_a_line_break_in_an_argument_is_written_out(log_text):
    logging.getLogger("workflow.auth").warning("sign-in refused for %s", FORGED)
    text = log_text()
    assert_not_forged(text)
    assert text.count("\n") == 1
    assert "sign-in refused for x\\n2026-11-26 12:00:00 INFO workflow.auth: admin signed in" in text


@pytest.mark.parametrize("char, shown", [("\r", "\\r"), ("\x1b", "\\x1b"), ("\x00", "\\x00"), ("\u2028", "\\u2028"),
                                         ("\x85", "\\x85"), ("\u202e", "\\u202e"), ("\x7f", "\\x7f")])
def test_other_control_characters_are_written_out(log_text, char, shown):
    logging.getLogger("workflow.cases").info("citizen %r opened by %s", f"Jens{char}Hansen", f"a{char}b")
    text = log_text()
    assert char not in text
    assert f"Jens{shown}Hansen" in text and f"a{shown}b" in text
    assert_not_forged(text)


def test_a_message_built_from_input_is_escaped_too(log_text):
    """Flask logs "Exception on <path>" as text it formatted itself, with no arguments."""
    logging.getLogger("flask.app").error(f"Exception on /cases/{FORGED} [POST]")
    assert_not_forged(log_text())


def test_numbers_objects_and_mapping_arguments_still_format(log_text):
    log = logging.getLogger("workflow.services.reminders")
    log.info("%d mailed, %.1f %% done, %r", 3, 2.5, ["a\nb"])
    log.info("%(user)s did %(what)s", {"user": FORGED, "what": 7})
    text = log_text()
    assert "3 mailed, 2.5 % done, ['a\\nb']" in text
    assert "x\\n2026-11-26 12:00:00 INFO workflow.auth: admin signed in did 7" in text
    assert_not_forged(text)


def test_a_traceback_keeps_its_lines_each_marked_as_a_continuation(log_text):
    try:
        raise ValueError(FORGED)
    except ValueError:
        logging.getLogger("workflow.errors").exception("error %s on %s %s", "abc123", "POST", "/login")
    text = log_text()
    assert_not_forged(text)
    lines = text.splitlines()
    assert lines[1] == logging_setup.CONTINUATION + "Traceback (most recent call last):"
    assert logging_setup.CONTINUATION + "ValueError: x" in lines
    assert logging_setup.CONTINUATION + "2026-11-26 12:00:00 INFO workflow.auth: admin signed in" in lines


def test_a_server_error_on_a_path_with_a_line_break_is_logged_on_marked_lines(database_url, tmp_path, log_text):
    """The real error handler logs the path; Flask logs it again with the traceback."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                      "TRUSTED_HOSTS": ["localhost"]})

    @app.before_request
    def boom():
        from flask import request
        if request.path.startswith("/_boom_for_log_test"):
            raise RuntimeError(f"failed at {request.path}")

    response = app.test_client().get("/_boom_for_log_test/x%0A2026-11-26%2012:00:00%20INFO%20workflow.auth:"
                                     "%20admin%20signed%20in")
    assert response.status_code == 500
    text = log_text()
    assert "error " in text and "/_boom_for_log_test/x\\n2026-11-26" in text
    assert_not_forged(text)


def test_sign_in_and_case_input_with_line_breaks_forge_nothing(staff, client, make_client, log_text):
    client.submit("/login", {"login": FORGED, "password": FORGED})
    client.submit("/login", {"login": "caseworker\r\nadmin", "password": PASSWORD})
    caseworker = make_client("caseworker")
    caseworker.submit("/cases/new", {"cpr": "010190-1234", "citizen_name": FORGED, "home_municipality": "101",
                                     "legal_basis": "SEL-108", "target_group": "intellectual_disability"})
    caseworker.get(f"/cases?q={FORGED}")
    logging.getLogger("workflow.auth").info("signed in: %s", FORGED)  # so that the log is not empty
    assert_not_forged(log_text())


@pytest.fixture
def access_log(app, tmp_path):
    """gunicorn's own access logger writing to a file, as the app's server runs it."""
    path = tmp_path / "access.log"
    config = GunicornConfig()
    config.set("accesslog", str(path))
    logger = GunicornLogger(config)
    yield logger, path
    access = logging.getLogger("gunicorn.access")
    for handler in list(access.handlers):
        handler.close()
        access.removeHandler(handler)


def test_gunicorn_access_log_escapes_the_user_and_headers(access_log):
    """The request line stays percent-encoded; a Basic-auth user or a header may hold anything."""
    logger, path = access_log
    user = base64.b64encode(f"{FORGED}:secret".encode()).decode()
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/cases?q=x%0A2026-11-26", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": f"Basic {user}",
               "HTTP_USER_AGENT": "agent\x1b[2K\rforged", "HTTP_REFERER": "-"}
    response = SimpleNamespace(status="200 OK", sent=120, headers=[])
    logger.access(response, [], environ, timedelta(milliseconds=5))
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") == 1, text
    assert not FORGED_LINE.search(text)
    assert "127.0.0.1 - x\\n2026-11-26 12 [" in text  # the user ends at the first colon
    assert "/cases?q=x%0A2026-11-26" in text
    assert "agent\\x1b[2K\\rforged" in text
