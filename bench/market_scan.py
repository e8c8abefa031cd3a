"""Benchmark: the market scan over 5,000 offers (target: under 100 ms).

    .venv/bin/python -m bench.market_scan [--offers 5000] [--runs 50] [--db sqlite|postgresql]

Seeds a fresh database (SQLite in a temporary folder, or a throwaway PostgreSQL server),
then times the scan service alone and the whole market-scan page through the test client.
Prints the figures; it is not part of the test run.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date

from flask_migrate import upgrade


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    server = None
    folder = tempfile.mkdtemp(prefix="socialkob-bench-")
    if args.db == "postgresql":
        from tests.support.postgres import TemporaryPostgres, find_bindir
        server = TemporaryPostgres(find_bindir()).start()
        url = server.create_database("bench")
    else:
        url = f"sqlite:///{folder}/bench.db"

    from workflow import create_app, demo
    from workflow.extensions import db
    from workflow.services import cases, market_scan

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench",
                      "TRUSTED_HOSTS": ["localhost"], "SESSION_COOKIE_SECURE": False,
                      "PASSWORD_HASH_TIME_COST": 1})
    try:
        with app.test_request_context():  # the demo sends inquiries, whose links need a request
            upgrade()
            started = time.perf_counter()
            people = demo.seed_staff()
            demo.seed_registry(args.offers, random.Random(11))
            opened = demo.seed_cases(people, count=4)
            db.session.commit()
            seeded = time.perf_counter() - started
            case = opened[1]
            assessment = cases.current_assessment(case)
            needs = market_scan.CaseNeeds(case.target_group, case.citizen.home_municipality, case.budget_frame,
                                          assessment.required_hours_per_week, case.acute, [])
            filters = market_scan.ScanFilters(legal_basis=case.legal_basis)
            service_times, rows = [], []
            for _ in range(args.runs):
                begin = time.perf_counter()
                rows = market_scan.run_scan(case, needs, filters, date.today())
                service_times.append((time.perf_counter() - begin) * 1000)
                db.session.rollback()
            case_id = case.id
        client = app.test_client()
        page = client.get("/login")
        token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post("/login", data={"csrf_token": token, "login": "caseworker", "password": demo.DEMO_PASSWORD})
        page_times = []
        for _ in range(args.runs):
            begin = time.perf_counter()
            response = client.get(f"/cases/{case_id}/market-scan")
            page_times.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200, response.status_code
    finally:
        if server is not None:
            server.stop()

    print(f"market scan over {args.offers} offers on {args.db} ({len(rows)} fit the case's legal basis; "
          f"seeded in {seeded:.1f} s)")
    print(f"{'what':<28}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for label, values in (("scan service", service_times), ("market-scan page", page_times)):
        print(f"{label:<28}{statistics.median(values):>10.1f}{_percentile(values, 0.95):>10.1f}{max(values):>10.1f}")
    target = _percentile(service_times, 0.95)
    print(f"target: scan p95 under 100 ms: {'met' if target < 100 else 'MISSED'} ({target:.1f} ms)")


if __name__ == "__main__":
    main()
