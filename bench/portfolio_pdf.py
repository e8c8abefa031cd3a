"""Benchmark: the portfolio report PDF for 1,000 active contracts (target: under 5 s in all).

    .venv/bin/python -m bench.portfolio_pdf [--contracts 1000] [--runs 5] [--db sqlite|postgresql] [--keep]

Seeds a fresh database (SQLite in a temporary folder, or a throwaway PostgreSQL server) with the
demo staff and N running placements in one unit (workflow/demo/bulk.py's bulk_placements: case,
approved contract version with price lines, follow-ups held and the next one open, stage visits,
written with plain multi-row inserts, not through the services). Then times, for the unit's manager,
the portfolio service, the charts and the PDF render, and WeasyPrint alone on the report's HTML, and
prints the figures; `--keep` writes the last PDF to portfolio.pdf here. bench/run.py calls `measure()`.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from datetime import date
from pathlib import Path

from bench._support import percentile

TARGET_SECONDS = 5.0


def seed_contracts(count: int, unit_id: int, owner_id: int, buyer_id: int, approver_id: int, today: date,
                   seed: int = 5) -> int:
    """N running placements in one unit (kept under this name for the tests that seed with it)."""
    from workflow.demo.bulk import bulk_placements

    return bulk_placements(count, unit_id, owner_id, buyer_id, approver_id, today, seed=seed)


def measure(app, manager_id: int, runs: int = 5) -> dict:
    """Seconds for the manager's portfolio report: the service, the charts, the PDF (and in all, also in CPU
    time), and WeasyPrint alone rendering the same HTML; with the last PDF."""
    from flask import render_template
    from flask_babel import force_locale
    from pypdf import PdfReader
    from weasyprint import HTML

    from workflow import charts, clock
    from workflow.extensions import db
    from workflow.models import User
    from workflow.pdf import STATIC_BASE, StaticOnlyFetcher
    from workflow.services import portfolio, portfolio_pdf

    timings: dict[str, list[float]] = {"portfolio service": [], "charts": [], "PDF render": [], "total": [],
                                       "total, CPU time": [], "WeasyPrint alone": []}
    with app.test_request_context():
        manager = db.session.get(User, manager_id)
        today = clock.today()
        for _ in range(runs):
            db.session.expire_all()
            cpu = time.process_time()             # all threads: WeasyPrint renders in one of its own
            started = time.perf_counter()
            filters = portfolio.parse_filters({}, manager, today)
            built = portfolio.build(manager, filters, today)
            after_build = time.perf_counter()
            drawn = charts.portfolio_charts(built)
            after_charts = time.perf_counter()
            pdf = portfolio_pdf.render(built, drawn)
            done = time.perf_counter()
            for name, seconds in (("portfolio service", after_build - started),
                                  ("charts", after_charts - after_build), ("PDF render", done - after_charts),
                                  ("total", done - started), ("total, CPU time", time.process_time() - cpu)):
                timings[name].append(seconds)
        with force_locale("da"):
            html = render_template("pdf/portfolio.html", static_base=STATIC_BASE,
                                   d=portfolio_pdf.report_data(built, drawn))
        fetcher = StaticOnlyFetcher(app.static_folder)
        for _ in range(runs):
            begin = time.perf_counter()
            HTML(string=html, base_url=STATIC_BASE, url_fetcher=fetcher).write_pdf(pdf_variant="pdf/a-3b")
            timings["WeasyPrint alone"].append(time.perf_counter() - begin)
        db.session.rollback()
    return {"active_contracts": len(built.contracts), "pages": len(PdfReader(io.BytesIO(pdf)).pages),
            "bytes": len(pdf), "runs": runs, "pdf": pdf,
            "seconds": {name: {"median": round(statistics.median(values), 3),
                               "p95": round(percentile(values, 0.95), 3), "max": round(max(values), 3)}
                        for name, values in timings.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--keep", action="store_true", help="write the last PDF to the current folder")
    args = parser.parse_args()

    from bench._support import database, make_app, migrate
    from workflow import clock, demo
    from workflow.extensions import db

    with database(args.db) as found:
        app = make_app(found.url, found.folder)
        migrate(app)
        with app.app_context():
            begin = time.perf_counter()
            people = demo.seed_staff()
            manager = people["manager"]
            seed_contracts(args.contracts, manager.unit_id, people["caseworker"].id, people["procurement"].id,
                           manager.id, clock.today())
            db.session.commit()
            seeded = time.perf_counter() - begin
            manager_id = manager.id
        result = measure(app, manager_id, args.runs)
    if args.keep:
        Path("portfolio.pdf").write_bytes(result["pdf"])
        print("PDF kept in portfolio.pdf")
    print(f"portfolio report PDF, {result['active_contracts']} active contracts on {args.db} (seeded in "
          f"{seeded:.1f} s), {result['pages']} pages, {result['bytes']:,} bytes, {args.runs} runs; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'what':<22}{'median s':>10}{'p95 s':>10}{'max s':>10}")
    for name, figures in result["seconds"].items():
        print(f"{name:<22}{figures['median']:>10.3f}{figures['p95']:>10.3f}{figures['max']:>10.3f}")
    worst = result["seconds"]["total"]["p95"]
    print(f"target < {TARGET_SECONDS:.0f} s: {'OK' if worst < TARGET_SECONDS else 'FAILED'} (p95 total {worst:.2f} s)")


if __name__ == "__main__":
    main()
