"""What the app wrote: a fingerprint of every table, and the INSERTs, UPDATEs and DELETEs each request commits.

Sign-in bookkeeping (sessions, failed attempts, a token's last use) changes on every request and is left out.
Used by the access matrix and the mass-assignment tests (tests/reliability/).
"""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import event, select

from workflow.extensions import db

VOLATILE = {"user_sessions": None, "login_attempts": None, "api_tokens": {"last_used_at"}}  # None: the whole table


def fingerprint() -> dict[str, tuple[int, str]]:
    """Each table's (row count, SHA-256 of its rows), read on a connection of its own (so never a stale view).

    Sign-in bookkeeping (sessions, failed attempts, a token's last use) changes on every request and is left out.
    """
    result = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            ignored = VOLATILE.get(table.name, set())
            if ignored is None:
                continue
            columns = [column for column in table.columns if column.name not in ignored]
            rows = connection.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            result[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return result


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in after if before.get(name) != after[name])


class WriteWatch:
    """The INSERTs, UPDATEs and DELETEs the app commits, by table (sign-in bookkeeping left out).

    Cheap enough to ask after every single request, and it says which table; fingerprint() still compares
    every table before and after each user's whole sweep.
    """

    STATEMENT = re.compile(r'\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
    TOKEN_TOUCH = re.compile(r"\s*UPDATE api_tokens SET last_used_at=[^,]+ WHERE", re.IGNORECASE)  # nothing else set

    def __init__(self):
        self.pending: list[str] = []
        self.committed: list[str] = []

    def __enter__(self) -> WriteWatch:
        for name, listener in self._listeners():
            event.listen(db.engine, name, listener)
        return self

    def __exit__(self, *exc) -> None:
        for name, listener in self._listeners():
            event.remove(db.engine, name, listener)

    def _listeners(self):
        return (("before_cursor_execute", self._statement), ("commit", self._commit), ("rollback", self._rollback))

    def _statement(self, connection, cursor, statement, parameters, context, executemany) -> None:
        match = self.STATEMENT.match(statement)
        if match and VOLATILE.get(match.group(2), set()) is not None and not self.TOKEN_TOUCH.match(statement):
            self.pending.append(f"{match.group(1).split()[0].upper()} {match.group(2)}")

    def _commit(self, connection) -> None:
        self.committed += self.pending
        self.pending = []

    def _rollback(self, connection) -> None:
        self.pending = []

    def take(self) -> list[str]:
        """The writes committed since the last call, each table once."""
        done, self.committed, self.pending = sorted(set(self.committed)), [], []
        return done
