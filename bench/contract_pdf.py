"""Benchmark: the contract summary PDF against WeasyPrint alone on the same HTML (target: within 1.3×).

    .venv/bin/python -m bench.contract_pdf [--runs 10]

Seeds the demo data in a temporary SQLite database, drafts the terms of a case in stage 4,
then times the whole summary (data, template, WeasyPrint, PDF/A) and WeasyPrint alone
rendering the HTML the summary produced. Prints the figures; bench/run.py calls `measure()`
on its own database.
"""
from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

TARGET_RATIO = 1.3


def measure(app, case_id: int, runs: int = 10) -> dict:
    """Seconds for the whole summary of the case's current contract version and for WeasyPrint alone on its
    HTML (drafted from the choice first when the case has none yet), and their ratio of medians; one render
    before either is timed."""
    from flask import render_template
    from flask_babel import force_locale
    from weasyprint import HTML

    from workflow.extensions import db
    from workflow.models import PurchaseCase, User
    from workflow.pdf import STATIC_BASE, StaticOnlyFetcher
    from workflow.services import contract_pdf, contracts

    with app.test_request_context():
        case = db.session.get(PurchaseCase, case_id)
        contract = contracts.current(case) or contracts.draft_from_choice(
            case, db.session.get(User, case.procurement_id), date.today())
        db.session.commit()
        fetcher = StaticOnlyFetcher(app.static_folder)
        with force_locale("da"):
            html = render_template("pdf/contract.html", static_base=STATIC_BASE,
                                   d=contract_pdf.summary_data(case, contract, draft=False))
        contract_pdf.render(case, contract, draft=False)        # fonts and styles loaded once, for both
        ours, alone = [], []
        for _ in range(runs):        # taken in turns, so that a busy moment of the machine weighs on both
            begin = time.perf_counter()
            pdf = contract_pdf.render(case, contract, draft=False)
            ours.append(time.perf_counter() - begin)
            begin = time.perf_counter()
            HTML(string=html, base_url=STATIC_BASE, url_fetcher=fetcher).write_pdf(pdf_variant="pdf/a-3b")
            alone.append(time.perf_counter() - begin)
        db.session.rollback()
    whole, weasyprint = statistics.median(ours), statistics.median(alone)
    return {"case_id": case_id, "bytes": len(pdf), "runs": runs, "seconds": round(whole, 4),
            "weasyprint_alone_seconds": round(weasyprint, 4), "ratio": round(whole / weasyprint, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from bench._support import database, make_app, migrate
    from workflow.cli import seed_demo_data
    from workflow.extensions import db
    from workflow.models import PurchaseCase

    with database("sqlite") as found:
        app = make_app(found.url, found.folder)
        migrate(app)
        with app.app_context():
            seed_demo_data()
            db.session.commit()
            case_id = db.session.scalars(db.select(PurchaseCase.id).where(PurchaseCase.stage == "terms")).first()
        result = measure(app, case_id, args.runs)
    print(f"contract summary PDF ({result['bytes']} bytes), {args.runs} runs, median seconds")
    print(f"{'whole summary (data + template + WeasyPrint)':<48}{result['seconds']:>8.3f}")
    print(f"{'WeasyPrint alone, same HTML':<48}{result['weasyprint_alone_seconds']:>8.3f}")
    ratio = result["ratio"]
    print(f"target: within {TARGET_RATIO}x WeasyPrint alone: {'met' if ratio <= TARGET_RATIO else 'MISSED'} "
          f"({ratio:.2f}x)")


if __name__ == "__main__":
    main()
