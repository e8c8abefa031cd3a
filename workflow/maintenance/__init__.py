"""Operations on the whole database: backup and restore, retention. Run from the command line."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from workflow.maintenance import backup, retention

    backup.init_app(app)
    retention.init_app(app)
