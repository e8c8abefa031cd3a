"""Counting the SQL statements a page or a call sends: the tests that a page's cost does not grow with the data."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import event

from workflow.extensions import db


class Statements:
    """How many statements were sent inside `with counted() as statements:` (read `statements.count`)."""

    count = 0


@contextlib.contextmanager
def counted() -> Iterator[Statements]:
    found = Statements()

    def note(*_args) -> None:
        found.count += 1

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield found
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def statements_of_get(client, url: str, *, warm: bool = True) -> int:
    """SQL statements of one GET of `url`, which must answer 200; with `warm`, after one GET before it, as every
    later request finds the session and caches."""
    if warm:
        assert client.get(url).status_code == 200
    with counted() as statements:
        assert client.get(url).status_code == 200
    return statements.count
