"""Benchmark: the market scan over 5,000 offers (target: under 100 ms).

    .venv/bin/python -m bench.market_scan [--offers 5000] [--runs 50] [--db sqlite|postgresql]

Seeds a fresh database (SQLite in a temporary folder, or a throwaway PostgreSQL server) with the
demo staff, the offers and a few cases, then times the scan service alone and the whole
market-scan page through the test client, and prints the figures. bench/run.py calls
`measure_service()` and times the page itself.
"""
from __future__ import annotations

import argparse
import random
import time
from datetime import date

from bench._support import percentile, summary


def measure_service(app, case_id: int, runs: int = 50) -> tuple[dict, int]:
    """Milliseconds for market_scan.run_scan on the case's needs and legal basis, and how many offers fit."""
    from workflow.extensions import db
    from workflow.models import PurchaseCase
    from workflow.services import cases, market_scan

    timings, rows = [], []
    with app.test_request_context():
        case = db.session.get(PurchaseCase, case_id)
        assessment = cases.current_assessment(case)
        needs = market_scan.CaseNeeds(case.target_group, case.citizen.home_municipality, case.budget_frame,
                                      assessment.required_hours_per_week, case.acute, [])
        filters = market_scan.ScanFilters(legal_basis=case.legal_basis)
        for _ in range(runs):
            begin = time.perf_counter()
            rows = market_scan.run_scan(case, needs, filters, date.today())
            timings.append((time.perf_counter() - begin) * 1000)
            db.session.rollback()
    return summary(timings), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    from bench._support import database, make_app, migrate, sign_in, time_page
    from workflow import demo
    from workflow.extensions import db

    with database(args.db) as found:
        app = make_app(found.url, found.folder)
        migrate(app)
        with app.test_request_context():  # the demo sends inquiries, whose links need a request
            started = time.perf_counter()
            people = demo.seed_staff()
            demo.seed_registry(args.offers, random.Random(11))
            opened = demo.seed_cases(people, count=4)
            db.session.commit()
            seeded = time.perf_counter() - started
            case_id = opened[1].id
        service, fitting = measure_service(app, case_id, args.runs)
        page, statuses = time_page(sign_in(app, "caseworker"), f"/cases/{case_id}/market-scan", args.runs)
        assert statuses == {200}, statuses

    print(f"market scan over {args.offers} offers on {args.db} ({fitting} fit the case's legal basis; "
          f"seeded in {seeded:.1f} s)")
    print(f"{'what':<28}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    print(f"{'scan service':<28}{service['p50']:>10.1f}{service['p95']:>10.1f}{service['max']:>10.1f}")
    print(f"{'market-scan page':<28}{percentile(page, 0.5):>10.1f}{percentile(page, 0.95):>10.1f}{max(page):>10.1f}")
    print(f"target: page p95 under 100 ms: {'met' if percentile(page, 0.95) < 100 else 'MISSED'} "
          f"({percentile(page, 0.95):.1f} ms)")


if __name__ == "__main__":
    main()
