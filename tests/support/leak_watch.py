"""A pytest plugin that watches the whole session for full CPR numbers in logs and URLs.

From the start of the session it reads
- every log record created in the process (message, arguments and traceback), at INFO and up as in
  production: a record factory sees them all, whatever handlers a test or alembic's fileConfig puts up;
- the URL (path and query string) of every request any app of the suite answers, and the Location it
  answers with (Flask's request signals, for every app the tests create);
- the files registered with ``watch_file(path)``: the access and error logs of servers started in
  subprocesses (tests/support/gunicorn.py registers its gunicorn logs).

Only findings are kept. tests/reliability/test_cpr_leaks.py has the test that asserts there are none; the
plugin moves it (anything marked ``runs_last``) to the end of the session, whatever the selection.

A full CPR number is ten digits, DDMMYYSSSS or DDMMYY-SSSS, standing on their own, whose date part
workflow.cpr reads as a real date (day + 60 for replacement numbers): ids, amounts and timestamps do not.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from flask import request, request_finished, request_started

from workflow import cpr

CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(\d{6})[- ]?(\d{4})(?![0-9A-Za-z])")
MAX_SHOWN = 300  # characters of an offending line in the report


def full_cprs(text: str) -> list[str]:
    """The full CPR numbers in the text."""
    return [match.group(0) for match in CANDIDATE.finditer(text) if cpr.is_valid(match.group(1) + match.group(2))]


class LeakWatch:
    """Scans what it is given and keeps the offending lines, with where they came from."""

    def __init__(self) -> None:
        self.findings: dict[str, None] = {}  # ordered and without repeats
        self.seen = {"log": 0, "url": 0, "file": 0}
        self.files: dict[Path, int] = {}  # path → how far it has been read

    def scan(self, where: str, text: str) -> None:
        for line in text.splitlines():
            if full_cprs(line):
                self.findings[f"{where}: {line[:MAX_SHOWN]}"] = None

    def note_record(self, record: logging.LogRecord) -> None:
        """A log record as it would be written: its message, traceback and stack."""
        self.seen["log"] += 1
        try:
            parts = [record.getMessage()]
        except Exception:  # noqa: BLE001 - a record that cannot be formatted: read its parts
            parts = [str(record.msg), repr(record.args)]
        if record.exc_info:
            parts.append(_tracebacks.formatException(record.exc_info))
        elif record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        self.scan(f"log {record.name} {record.levelname}", "\n".join(parts))

    def note_url(self, kind: str, url: str) -> None:
        self.seen["url"] += 1
        self.scan(kind, unquote_plus(url))

    def watch_file(self, path: str | Path) -> None:
        self.files.setdefault(Path(path), 0)

    def scan_files(self) -> None:
        """Read what was added to the watched files since the last scan (a file may not exist yet)."""
        for path, offset in list(self.files.items()):
            try:
                with path.open("rb") as handle:
                    handle.seek(offset)
                    added = handle.read()
            except OSError:
                continue
            self.files[path] = offset + len(added)
            self.seen["file"] += 1
            self.scan(f"file {path}", unquote_plus(added.decode("utf-8", "replace")))  # request lines are encoded

    def report(self) -> list[str]:
        self.scan_files()
        return list(self.findings)


_tracebacks = logging.Formatter()
_session = LeakWatch()


def session_watch() -> LeakWatch:
    return _session


def watch_file(path: str | Path) -> None:
    """Have a log file that a subprocess writes (a gunicorn access log) checked for CPR numbers too."""
    _session.watch_file(path)


# --- Hooks ----------------------------------------------------------------------------------------------------

def _request_started(sender, **_extra) -> None:
    query = request.query_string.decode("latin-1")
    _session.note_url(f"request {request.method}", request.path + (f"?{query}" if query else ""))


def _request_finished(sender, response, **_extra) -> None:
    location = response.headers.get("Location")
    if location:
        _session.note_url(f"redirect {response.status_code}", location)


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _session.note_record(record)
        return record

    logging.setLogRecordFactory(factory)


def _log_at_info() -> None:
    """The app logs INFO and up in production; tests run at WARNING, and alembic's fileConfig sets it back."""
    root = logging.getLogger()
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "runs_last: run at the very end of the session (the leak check)")


def pytest_sessionstart(session) -> None:
    _install_record_factory()
    request_started.connect(_request_started, weak=False)
    request_finished.connect(_request_finished, weak=False)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items) -> None:
    last = [item for item in items if item.get_closest_marker("runs_last")]
    items[:] = [item for item in items if not item.get_closest_marker("runs_last")] + last


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    _log_at_info()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    _session.scan_files()  # before a fixture removes a server's folder
    yield
    _session.scan_files()
