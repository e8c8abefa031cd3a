"""Seed once, measure often: a kept benchmark database for working on one page's speed.

    .venv/bin/python -m bench.workbench seed FOLDER [--db sqlite|postgresql] [--cases 100000] ...
    .venv/bin/python -m bench.workbench time FOLDER [--page "market scan"] [--runs 40] [--profile]
    .venv/bin/python -m bench.workbench stop FOLDER

`seed` fills a database exactly as `make bench` does (bench/run.py) and keeps it in FOLDER: SQLite as a
file, PostgreSQL as a server left running (FOLDER/workbench.json says where). `time` times the pages of
`make bench` on it (p50, p95, queries) and with `--profile` writes a pyinstrument profile of each to
FOLDER/profiles/. `stop` stops the kept PostgreSQL server and removes its files.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

from bench import run
from bench._support import Database, make_app

STATE = "workbench.json"


def seed(folder: Path, args) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    database = Database(args.db, folder=folder).start()
    app = make_app(database.url, folder)
    result: dict = {"database": args.db}
    ids, long_case, _counts = run.seed(app, args.db, args, result)
    state = {"kind": args.db, "url": database.url, "ids": ids, "long_case": long_case,
             "portfolio_manager": run._portfolio_unit(app, args.portfolio_contracts), "seeding": result["seeding"]}
    if database.server is not None:
        state["server"] = {"bindir": str(database.server.bindir), "root": str(database.server.root)}
    (folder / STATE).write_text(json.dumps(state, indent=2) + "\n")
    return state


def time(folder: Path, args) -> None:
    state = json.loads((folder / STATE).read_text())
    app = make_app(state["url"], folder)
    listed = [page for page in run.pages(app, state["ids"], state["long_case"])
              if not args.page or page.name in args.page]
    timing = SimpleNamespace(runs=args.runs, warmup=args.warmup, page_seconds=args.page_seconds,
                             profile=folder / "profiles" if args.profile else None)
    measured, _counts, targets = run.time_pages(app, listed, state["kind"], timing)
    for target, (name, page) in zip(targets, measured.items(), strict=True):
        print(f"{name:40} p50 {page['ms']['p50']:8.1f} ms  p95 {page['ms']['p95']:8.1f} ms  "
              f"{page['queries']:4} queries  {'met' if target.met else 'MISSED'}")


def stop(folder: Path) -> None:
    state = json.loads((folder / STATE).read_text())
    server = state.get("server")
    if server:
        from tests.support.postgres import TemporaryPostgres

        TemporaryPostgres(Path(server["bindir"]), Path(server["root"])).stop()
    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = run.options(commands.add_parser("seed", help="fill a kept database"))
    seeding.set_defaults(db="sqlite")
    timing = commands.add_parser("time", help="time the pages on it")
    timing.add_argument("--page", action="append", help="a page's name as in the table (repeatable)")
    timing.add_argument("--runs", type=int, default=40)
    timing.add_argument("--warmup", type=int, default=5)
    timing.add_argument("--page-seconds", type=float, default=20)
    timing.add_argument("--profile", action="store_true")
    commands.add_parser("stop", help="stop its PostgreSQL server and remove it")
    for sub in commands.choices.values():
        sub.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.command == "seed":
        if args.db == "both":
            parser.error("seed one database at a time")
        print(json.dumps(seed(args.folder, args), indent=2))
    elif args.command == "time":
        time(args.folder, args)
    else:
        stop(args.folder)


if __name__ == "__main__":
    main()
