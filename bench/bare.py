"""The bare framework, for comparison under load: Flask + Flask-SQLAlchemy reading one row of the same database.

    DATABASE_URL=... .venv/bin/gunicorn bench.bare:app

GET /cases/<id> reads the case's row (one SELECT by primary key) and answers it as JSON: what any page of
the app costs at the least, served by the same gunicorn settings (bench/wrk.py).
"""
from __future__ import annotations

import os

from flask import Flask, abort, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

app = Flask(__name__)
_url = os.environ["DATABASE_URL"]
app.config["SQLALCHEMY_DATABASE_URI"] = (
    "postgresql+psycopg://" + _url.removeprefix("postgresql://") if _url.startswith("postgresql://") else _url)
db = SQLAlchemy(app)


@app.route("/cases/<int:case_id>")
def case(case_id: int):
    row = db.session.execute(text("SELECT id, number, stage, legal_basis, changed_at FROM purchase_cases "
                                  "WHERE id = :id"), {"id": case_id}).one_or_none()
    if row is None:
        abort(404)
    return jsonify({key: str(value) for key, value in row._mapping.items()})
