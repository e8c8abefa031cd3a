"""`make bench`: the app at a large municipality's scale, against the targets of issue #10.

    .venv/bin/python -m bench.run [--cases 100000] [--db sqlite|postgresql|both] [--runs 40] [--small 1000]
                                  [--wrk-seconds 10] [--profile FOLDER] [--out bench/results.json]

For each database (SQLite in a temporary folder; PostgreSQL on a throwaway server it starts itself):

1. seeds the demo staff and 200 users in all, 5,000 offers, a unit with 1,000 running placements (the
   portfolio report's), one case with a long history and `--small` cases in every stage, and counts the
   SQL queries of each page measured;
2. seeds the rest up to `--cases` (timed: the seeding target is for all of them), refreshes the planner's
   statistics and opens a sample of pages of every stage, each of which must answer 200;
3. times each page in-process (test client, signed in as a user of the right role): p50 and p95 over
   `--runs` requests after a warm-up, and counts its queries again: they must not have grown;
4. renders the contract summary PDF and the portfolio PDF (1,000 active contracts), each beside
   WeasyPrint alone on the same HTML;
5. under gunicorn, loads the case page (signed-in cookie) and the bare Flask + SQLAlchemy endpoint reading
   one row of the same database (bench/bare.py) with wrk, one after the other.

Prints one table (target, value, limit, met) and writes the measurements with a `targets` object (name:
{value, limit, met}) to the results file. `--profile` writes a pyinstrument profile of one request of each
page that misses its target.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bench import contract_pdf, market_scan, portfolio_pdf, wrk
from bench._support import (
    Database,
    analyze,
    count_queries,
    make_app,
    migrate,
    seed_cases,
    seed_people_and_offers,
    sign_in,
    summary,
    time_page,
)
from bench.pages import check_sample

RESULTS = Path(__file__).with_name("results.json")
FULL_SCALE = 100_000
SEEDING_LIMIT_SECONDS = 60          # for 100,000 cases; a smaller run scales it
PORTFOLIO_CONTRACTS = 1000
PORTFOLIO_UNIT = "Handicap og Psykiatri Vest"
CASEWORKER, MANAGER = "caseworker", "manager"          # the demo's, in Voksenhandicap
DEEP_PAGE = 200


@dataclass
class Page:
    name: str
    login: str
    url: str
    limit_ms: float


@dataclass
class Target:
    name: str
    value: float
    limit: float
    unit: str
    at_least: bool = False          # a floor (throughput), not a ceiling

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value < self.limit

    def row(self) -> tuple[str, str, str, str]:
        shown = {"×": f"{self.value:.2f}", "": f"{self.value:g}"}.get(self.unit, f"{self.value:,.1f}")
        limit = f"{'≥' if self.at_least else '<'} {self.limit:g}"
        return self.name, f"{shown} {self.unit}".strip(), f"{limit} {self.unit}".strip(), "yes" if self.met else "NO"


def _ids(app) -> dict:
    """The people and cases the measurements use, by what they are for."""
    from sqlalchemy import select

    from workflow.extensions import db
    from workflow.models import CaseComment, ContractVersion, PurchaseCase, User

    with app.app_context():
        caseworker = db.session.scalar(select(User).where(User.login == CASEWORKER))
        unit = caseworker.unit_id

        def first(*conditions):
            return db.session.scalar(select(PurchaseCase.id).where(PurchaseCase.unit_id == unit, *conditions)
                                     .order_by(PurchaseCase.id))

        busy = select(CaseComment.case_id).group_by(CaseComment.case_id).having(db.func.count() > 10)
        return {
            "caseworker_id": caseworker.id,
            "unit_id": unit,
            "market_scan_case": first(PurchaseCase.stage == "market_scan"),
            "running_case": first(PurchaseCase.stage == "follow_up", PurchaseCase.id.not_in(busy)),
            "terms_case": db.session.scalar(
                select(PurchaseCase.id).join(ContractVersion, ContractVersion.case_id == PurchaseCase.id)
                .where(PurchaseCase.stage == "terms", ContractVersion.status == "draft").order_by(PurchaseCase.id)),
        }


def _deep_page(app) -> int:
    """Page DEEP_PAGE of the unit's closed § 108 cases, or the last page when there are fewer."""
    from sqlalchemy import select

    from workflow.extensions import db
    from workflow.models import User
    from workflow.services import case_list

    with app.app_context():
        user = db.session.scalar(select(User).where(User.login == CASEWORKER))
        found = case_list.list_cases(user, case_list.CaseFilters(scope="unit", status="all", stage="closed",
                                                                 legal_basis="SEL-108", page=DEEP_PAGE))
        db.session.rollback()
        return found.page


def pages(app, ids: dict, long_case: int) -> list[Page]:
    deep = _deep_page(app)
    listed = [
        Page("case list, page 1", CASEWORKER, "/cases?scope=unit", 50),
        Page("case list, deep page with filters", CASEWORKER,
             f"/cases?scope=unit&status=all&stage=closed&legal_basis=SEL-108&page={deep}", 50),
        Page("case page, long history", CASEWORKER, f"/cases/{long_case}", 50),
        Page("case page, running placement", CASEWORKER, f"/cases/{ids['running_case']}", 50),
        Page("task list", CASEWORKER, "/cases?scope=tasks", 50),
        Page("start page with tasks", CASEWORKER, "/", 50),
        Page("dashboard", MANAGER, "/reports", 200),
    ]
    if ids["market_scan_case"]:
        listed.insert(5, Page("market scan", CASEWORKER, f"/cases/{ids['market_scan_case']}/market-scan", 100))
    return listed


def _portfolio_unit(app, contracts: int) -> int:
    """A unit of its own with `contracts` running placements and its manager; returns the manager's id.

    Made after the cases, so that none of them falls to its caseworker: the report has exactly these."""
    from sqlalchemy import select

    from workflow import clock
    from workflow.demo import DEMO_PASSWORD
    from workflow.demo.bulk import bulk_placements
    from workflow.extensions import db
    from workflow.models import Role, User
    from workflow.services import users

    with app.app_context():
        unit = users.create_unit(PORTFOLIO_UNIT)
        people = {role: users.create_user(login=f"vest-{role.value}", full_name=f"Vest {role.value}",
                                          email=f"vest-{role.value}@socialkob.example", role=role, unit=unit,
                                          password=DEMO_PASSWORD,
                                          approval_limit=Decimal(2_000_000) if role == Role.MANAGER else None)
                  for role in (Role.CASEWORKER, Role.MANAGER)}
        buyer = db.session.scalar(select(User.id).where(User.login == "procurement"))
        bulk_placements(contracts, unit.id, people[Role.CASEWORKER].id, buyer, people[Role.MANAGER].id,
                        clock.today())
        db.session.commit()
        return people[Role.MANAGER].id


def _long_case(app, caseworker_id: int) -> int:
    from workflow.demo.bulk import long_history_case
    from workflow.extensions import db

    with app.app_context():
        case_id = long_history_case(caseworker_id)
        db.session.commit()
        return case_id


def _queries(app, listed: list[Page]) -> dict[str, int]:
    clients = {}
    counts = {}
    for page in listed:
        client = clients.setdefault(page.login, sign_in(app, page.login))
        client.get(page.url)                       # caches warm, as for every later request
        counts[page.name], _status = count_queries(app, client, page.url)
    return counts


def _rows(app) -> dict[str, int]:
    from workflow.extensions import db

    with app.app_context():
        return {table.name: db.session.execute(db.text(f'SELECT COUNT(*) FROM "{table.name}"')).scalar()  # noqa: S608 - table names from the models
                for table in db.metadata.sorted_tables}


def _profile(client, url: str, path: Path) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    client.get(url)
    profiler.stop()
    path.write_text(profiler.output_text(unicode=True, color=False))


def _under_load(app, database: Database, ids: dict, seconds: int) -> dict:
    """wrk against the case page of a running placement and the bare endpoint on the same case's row."""
    from workflow.demo import DEMO_PASSWORD

    case_id = ids["running_case"]
    with wrk.serve("wsgi:app", database.url, database.folder, "app") as base:
        cookie = wrk.signed_in_cookie(base, CASEWORKER, DEMO_PASSWORD)
        import requests

        check = requests.get(f"{base}/cases/{case_id}", headers={"Cookie": cookie}, allow_redirects=False,
                             timeout=30)
        if check.status_code != 200:
            raise RuntimeError(f"the case page under gunicorn answered {check.status_code}")
        app_figures = wrk.load(f"{base}/cases/{case_id}", seconds, cookie=cookie)
    with wrk.serve("bench.bare:app", database.url, database.folder, "bare") as base:
        bare_figures = wrk.load(f"{base}/cases/{case_id}", seconds)
    return {"case_id": case_id, "workers": wrk.WORKERS, "case page": app_figures, "bare endpoint": bare_figures,
            "ratio": round(app_figures["requests_per_second"] / bare_figures["requests_per_second"], 3)}


def seed(app, kind: str, args, result: dict) -> tuple[dict, int, dict]:
    """Migrate and fill the database as measured: (ids, the long case's id, query counts at `--small` cases).

    Adds the setup and seeding figures to `result`."""
    migrate(app)
    begin = time.perf_counter()
    seed_people_and_offers(app, args.users, args.offers)
    ids = _ids(app)
    long_case = _long_case(app, ids["caseworker_id"])
    result["setup_seconds"] = round(time.perf_counter() - begin, 1)
    _say(kind, f"staff, offers and the case with a long history in {result['setup_seconds']} s")

    small = min(args.small, args.cases)
    seeded = seed_cases(app, small, seed=7)
    analyze(app)
    small_counts = _queries(app, pages(app, _ids(app), long_case))
    result["queries_small_cases"] = small
    _say(kind, f"{small} cases; queries counted")
    seeded += seed_cases(app, args.cases - small, seed=11) if args.cases > small else 0
    result["seeding"] = {"cases": args.cases, "seconds": round(seeded, 1),
                         "cases_per_second": round(args.cases / seeded), "analyze_seconds": round(analyze(app), 1)}
    _say(kind, f"{args.cases} cases seeded in {seeded:.1f} s")
    return _ids(app), long_case, small_counts


def time_pages(app, listed: list[Page], kind: str, args) -> tuple[dict, dict[str, int], list[Target]]:
    """Each page's timings and queries at full size: (measurements, query counts, targets)."""
    counts = _queries(app, listed)
    clients = {login: sign_in(app, login) for login in {page.login for page in listed}}
    measured, targets = {}, []
    for page in listed:
        timings, statuses = time_page(clients[page.login], page.url, args.runs, warmup=args.warmup,
                                      budget=args.page_seconds, at_least=min(10, args.runs))
        measured[page.name] = {"url": page.url, "login": page.login, "ms": summary(timings),
                               "statuses": sorted(statuses), "queries": counts[page.name]}
        value = measured[page.name]["ms"]["p95"]
        targets.append(Target(f"{page.name} p95 ({kind})", value, page.limit_ms, "ms"))
        if args.profile and value >= page.limit_ms:
            args.profile.mkdir(parents=True, exist_ok=True)
            _profile(clients[page.login], page.url,
                     args.profile / f"{kind}-{page.name.replace(' ', '-').replace(',', '')}.txt")
    return measured, counts, targets


def measure(kind: str, args) -> tuple[dict, list[Target]]:
    """Seed one database and measure everything on it; (measurements, targets)."""
    started = time.perf_counter()
    database = Database(kind).start()
    result: dict = {"database": kind}
    try:
        app = make_app(database.url, database.folder)
        ids, long_case, small_counts = seed(app, kind, args, result)
        failed = check_sample(app, per_stage=args.sample)
        result["sample_pages_failed"] = [{"login": login, "url": url, "status": status}
                                         for login, url, status in failed]
        _say(kind, f"sample of pages of every stage: {len(failed)} failed")

        measured, large_counts, targets = time_pages(app, pages(app, ids, long_case), kind, args)
        for name, page in measured.items():
            page["queries_small"] = small_counts[name]
        result["pages"] = measured
        grown = [name for name in large_counts if large_counts[name] > small_counts[name]]
        result["queries_grown"] = grown
        targets.append(Target(f"pages whose query count grew with the data ({kind})", len(grown), 1, ""))
        _say(kind, "pages timed")

        if ids["market_scan_case"]:
            service, fitting = market_scan.measure_service(app, ids["market_scan_case"], args.runs)
            result["market_scan_service"] = {"ms": service, "offers_fitting": fitting}
        if ids["terms_case"]:
            contract = contract_pdf.measure(app, ids["terms_case"], args.contract_runs)
            result["contract_pdf"] = contract
            targets.append(Target(f"contract PDF ÷ WeasyPrint alone ({kind})", contract["ratio"],
                                  contract_pdf.TARGET_RATIO, "×"))
        portfolio = portfolio_pdf.measure(app, _portfolio_unit(app, args.portfolio_contracts), args.pdf_runs)
        portfolio.pop("pdf")
        result["portfolio_pdf"] = portfolio
        targets.append(Target(f"portfolio PDF, {portfolio['active_contracts']:,} contracts, p95 ({kind})",
                              portfolio["seconds"]["total"]["p95"], portfolio_pdf.TARGET_SECONDS, "s"))
        _say(kind, "PDFs rendered")

        if args.wrk_seconds and wrk.available():
            loaded = _under_load(app, database, ids, args.wrk_seconds)
            result["under_load"] = loaded
            targets.append(Target(f"case page throughput ÷ bare endpoint ({kind})", loaded["ratio"], 0.6, "×",
                                  at_least=True))
            _say(kind, f"wrk: {loaded['case page']['requests_per_second']:.0f} against "
                       f"{loaded['bare endpoint']['requests_per_second']:.0f} requests/s")
        elif args.wrk_seconds:
            result["under_load"] = "wrk or gunicorn is not installed"
        result["rows"] = _rows(app)
        limit = SEEDING_LIMIT_SECONDS * args.cases / FULL_SCALE
        targets.insert(0, Target(f"seeding {args.cases:,} cases ({kind})", result["seeding"]["seconds"], limit, "s"))
    finally:
        database.stop()
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result, targets


def _say(kind: str, text: str) -> None:
    print(f"[{kind}] {text}", file=sys.stderr, flush=True)


def _machine() -> dict:
    found = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
             "sqlite": sqlite3.sqlite_version, "load_average_at_start": round(os.getloadavg()[0], 2)}
    try:
        with open("/proc/cpuinfo") as info:
            found["cpu"] = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return found


def print_table(targets: list[Target]) -> None:
    rows = [("target", "value", "limit", "met"), *(target.row() for target in targets)]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) if column == 0 else cell.rjust(width)
                        for column, (cell, width) in enumerate(zip(row, widths, strict=True))))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The size of the data and of the measurements (bench/workbench.py takes them too)."""
    parser.add_argument("--cases", type=int, default=FULL_SCALE)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--small", type=int, default=1000, help="cases when the queries are first counted")
    parser.add_argument("--offers", type=int, default=5000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--portfolio-contracts", type=int, default=PORTFOLIO_CONTRACTS)
    parser.add_argument("--runs", type=int, default=40, help="requests timed per page")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--page-seconds", type=float, default=20, help="time budget per page (at least 10 runs)")
    parser.add_argument("--pdf-runs", type=int, default=3, help="portfolio reports rendered")
    parser.add_argument("--contract-runs", type=int, default=10, help="contract summaries rendered")
    parser.add_argument("--sample", type=int, default=2, help="cases per stage whose pages are opened")
    parser.add_argument("--wrk-seconds", type=int, default=10, help="0: no load test")
    parser.add_argument("--profile", type=Path, help="folder for profiles of the pages that miss their target")
    return parser


def main(argv: list[str] | None = None) -> dict:
    parser = options(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "machine": _machine(),
               "options": {key: value for key, value in vars(args).items() if key not in ("out", "profile", "db")},
               "databases": {}}
    targets: list[Target] = []
    for kind in (("sqlite", "postgresql") if args.db == "both" else (args.db,)):
        results["databases"][kind], found = measure(kind, args)
        targets += found
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    results["targets"] = {target.name: {"value": target.value, "limit": target.limit, "met": target.met}
                          for target in targets}
    print_table(targets)
    print(f"\n{results['seconds']:.0f} s in all on {results['machine']['cpus']} CPUs "
          f"(load average {results['machine']['load_average_at_start']} at the start); written to {args.out}")
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


if __name__ == "__main__":
    main()
