"""Logging for the app: one format, and no log line that a user can forge.

User input reaches the log in the arguments of a message (a path, a login, an e-mail domain) and in
messages that libraries build themselves (Flask logs "Exception on <path>", gunicorn the request's user).
A line break in such a value would let its author write a line of their own into the log, for example
"x\\n2026-11-26 12:00:00 INFO workflow.auth: admin signed in". So every record is made safe where it is
created, whatever handler later writes it (the console, gunicorn's error and access logs, pytest):

- control characters in the arguments are escaped (``\\n``, ``\\r``, ``\\x1b``, ``\\u2028``), or in the
  message itself when it has no arguments (then it may be text built from input, such as Flask's);
- a traceback or stack keeps its lines, but each one starts with ``CONTINUATION``, so that none of them,
  not even an exception message holding input, can pass for a record of its own.
"""
from __future__ import annotations

import logging
import numbers
import re
from collections.abc import Mapping

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONTINUATION = "  | "

# C0 and C1 controls, DEL, the Unicode line and paragraph separators and the bidi controls (which can make
# a line read differently from what it holds).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    """The text on one line, its control characters written out."""
    return _UNSAFE.sub(lambda match: _NAMED.get(match.group(0)) or _code(match.group(0)), text)


def _code(char: str) -> str:
    point = ord(char)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def continued(text: str) -> str:
    """A multi-line block (a traceback) with each line marked as belonging to the record above it."""
    return "\n".join(CONTINUATION + escape(line) for line in text.rstrip("\n").split("\n"))


class _Escaped:
    """An argument that is not a number: shown escaped, whether by %s or %r."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __str__(self) -> str:
        return escape(str(self.value))

    def __repr__(self) -> str:
        return escape(repr(self.value))

    def __format__(self, spec: str) -> str:
        return escape(format(self.value, spec))


class _EscapedMapping(Mapping):
    """Mapping arguments ("%(name)s", as gunicorn's access log uses) whose values are escaped on lookup."""

    def __init__(self, mapping: Mapping):
        self.mapping = mapping

    def __getitem__(self, key):
        return _safe(self.mapping[key])  # the mapping's own lookup: gunicorn's answers "-" for a missing atom

    def __iter__(self):
        return iter(self.mapping)

    def __len__(self) -> int:
        return len(self.mapping)


def _safe(value):
    if value is None or isinstance(value, numbers.Number):
        return value  # %d and %f still work
    return _Escaped(value)


_tracebacks = logging.Formatter()


def make_safe(record: logging.LogRecord) -> logging.LogRecord:
    """Escape what the record will print; render its traceback now, with every line marked."""
    if record.args:
        if isinstance(record.args, Mapping):
            record.args = _EscapedMapping(record.args)
        else:
            record.args = tuple(_safe(arg) for arg in record.args)
    elif not isinstance(record.msg, str) or _UNSAFE.search(record.msg):
        record.msg = escape(str(record.msg))
    if record.exc_info and not record.exc_text:
        record.exc_text = continued(_tracebacks.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = continued(record.stack_info)
    return record


def install_record_factory() -> None:
    """Make every record of the process safe (once, however many apps are created)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "makes_safe_records", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        return make_safe(previous(*args, **kwargs))

    factory.makes_safe_records = True
    logging.setLogRecordFactory(factory)


def configure() -> None:
    """The app's logging: INFO and up to standard error (unless someone set up handlers before), made safe."""
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    install_record_factory()
