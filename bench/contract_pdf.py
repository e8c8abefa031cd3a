"""Benchmark: the contract summary PDF against WeasyPrint alone on the same HTML (target: within 1.3×).

    .venv/bin/python -m bench.contract_pdf [--runs 10]

Seeds the demo data in a temporary SQLite database, drafts the terms of a case in stage 4,
then times the whole summary (data, template, WeasyPrint, PDF/A) and WeasyPrint alone
rendering the HTML the summary produced. Prints the figures; not part of the test run.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date

from flask_migrate import upgrade


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from flask import render_template
    from flask_babel import force_locale
    from weasyprint import HTML

    from workflow import create_app
    from workflow.cli import seed_demo_data
    from workflow.extensions import db
    from workflow.models import PurchaseCase, User
    from workflow.pdf import STATIC_BASE, StaticOnlyFetcher
    from workflow.services import contract_pdf, contracts

    folder = tempfile.mkdtemp(prefix="socialkob-bench-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db", "INSTANCE_PATH": folder,
                      "SECRET_KEY": "bench", "PASSWORD_HASH_TIME_COST": 1, "MAIL_OUTBOX": f"{folder}/outbox"})
    with app.app_context():
        upgrade()
        seed_demo_data()
        db.session.commit()
        case = db.session.scalars(db.select(PurchaseCase).where(PurchaseCase.stage == "terms")).first()
        contract = contracts.current(case) or contracts.draft_from_choice(
            case, db.session.get(User, case.procurement_id), date.today())
        db.session.commit()
        with app.test_request_context():
            ours, alone = [], []
            for _ in range(args.runs):
                begin = time.perf_counter()
                pdf = contract_pdf.render(case, contract, draft=False)
                ours.append(time.perf_counter() - begin)
            with force_locale("da"):
                html = render_template("pdf/contract.html", static_base=STATIC_BASE,
                                       d=contract_pdf.summary_data(case, contract, draft=False))
            fetcher = StaticOnlyFetcher(app.static_folder)
            for _ in range(args.runs):
                begin = time.perf_counter()
                HTML(string=html, base_url=STATIC_BASE, url_fetcher=fetcher).write_pdf(pdf_variant="pdf/a-3b")
                alone.append(time.perf_counter() - begin)
    ratio = statistics.median(ours) / statistics.median(alone)
    print(f"contract summary PDF ({len(pdf)} bytes), {args.runs} runs, median seconds")
    print(f"{'whole summary (data + template + WeasyPrint)':<48}{statistics.median(ours):>8.3f}")
    print(f"{'WeasyPrint alone, same HTML':<48}{statistics.median(alone):>8.3f}")
    print(f"target: within 1.3x WeasyPrint alone: {'met' if ratio <= 1.3 else 'MISSED'} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
