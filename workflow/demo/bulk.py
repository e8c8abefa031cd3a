"""Many cases written fast for benchmarks, with plain multi-row inserts (not through the services).

- `bulk_cases(count)`: cases in every stage, owned by the units' caseworkers, each with the history its
  stages leave behind (workflow/demo/bulk_stages.py); one case in LONG_EVERY has a long history, the
  first case of all among them, and each caseworker's first cases go through every stage once (so that
  even a small run fills every list and task list the same way as a large one).
- `long_history_case(owner)`: one running placement with ten years of history, for one caseworker.
- `bulk_placements(count, unit, ...)`: running placements in one unit (the portfolio's benchmark).
- `bulk_offers(count)`: the registry: suppliers with one to five offers each.
- `bulk_staff(total)`: more units and staff around the demo's, up to `total` users.

Rows are gathered per table in a `Batch` and written with one insert per table, parents first, with ids
given here so that children can point at them; PostgreSQL's sequences are moved past them afterwards.
Many cases are made in chunks by worker processes (the making costs more than the writing), each chunk
with its own ids and CPR numbers, while this process writes the chunks that are done.
"""
from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import accumulate
from operator import itemgetter
from typing import NamedTuple

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import JSON, Boolean, Date, LargeBinary, String, bindparam, func, insert, select

from workflow import clock
from workflow.demo.bulk_stages import PATH, CaseWriter, OfferFacts, Setting, Team
from workflow.demo.casework import _case_input
from workflow.demo.people import DEMO_PASSWORD, FIRST_NAMES, LAST_NAMES, CprFactory
from workflow.demo.registry import _offer_input, _supplier_input
from workflow.extensions import db
from workflow.legal_basis import BY_CODE as LEGAL_BASES
from workflow.models import (
    AccessLog,
    ApprovalEvent,
    AuditEvent,
    CaseComment,
    CaseEnding,
    Choice,
    Citizen,
    ContractPriceLine,
    ContractVersion,
    FollowUp,
    Goal,
    GoalScore,
    Inquiry,
    NeedsAssessment,
    NegotiationNote,
    Offer,
    OfferPrice,
    OfferTerm,
    PurchaseCase,
    Reply,
    ReplyPriceLine,
    Requirement,
    Role,
    ShortlistEntry,
    StageVisit,
    Supplier,
    ThemeAssessment,
    Unit,
    User,
)
from workflow.models.types import UTCDateTime
from workflow.municipalities import MUNICIPALITIES
from workflow.services import followup, passwords, settings, users
from workflow.vocabulary import SERVICE_TYPE_LABELS

# The stages of a large municipality's cases over the years: most have ended, a quarter are running placements.
STAGE_MIX = {"needs": 6, "market_scan": 4, "dialogue": 4, "terms": 3, "approval": 2, "delivery": 2, "follow_up": 25,
             "ending": 3, "closed": 44, "cancelled": 7}
ADULT_BASES = {"SEL-108": 30, "SEL-85": 25, "SEL-107": 15, "SEL-104": 12, "SEL-103": 8, "SEL-110": 10}
CHILD_BASES = {"BL-46": 30, "BL-32": 30, "BL-43": 25, "BL-47": 15}
CHILD_UNITS = ("Børn og Familie", "Børnehandicap")      # the units whose caseworkers have children's cases
LONG_EVERY = 1000
# bulk_staff: the case units and how many caseworkers and managers each has, then the shared units.
STAFF_UNITS = (("Voksenhandicap", 50, 2), ("Børn og Familie", 35, 2), ("Socialpsykiatri", 25, 2),
               ("Børnehandicap", 15, 2), ("Udsatte Voksne", 15, 2))
SHARED_UNITS = (("Indkøb", Role.PROCUREMENT), ("Økonomi", Role.ECONOMY), ("Digitalisering", Role.ADMIN))

WRITE_ORDER = (Supplier, Offer, OfferTerm, OfferPrice, Citizen, PurchaseCase, NeedsAssessment, ThemeAssessment, Goal,
               ShortlistEntry, Requirement, Inquiry, Reply, ReplyPriceLine, NegotiationNote, Choice, ContractVersion,
               ContractPriceLine, ApprovalEvent, FollowUp, GoalScore, CaseEnding, StageVisit, CaseComment, AuditEvent,
               AccessLog)
# The tables whose rows get their ids here, and how many ids a chunk of cases keeps per case for each:
# a case has one citizen and one assessment, up to 3 goals and inquiries, two replies per inquiry, two
# contract versions and (ten years of history) a few dozen follow-ups.
PER_CASE = {Citizen: 1, PurchaseCase: 1, NeedsAssessment: 1, Goal: 3, Inquiry: 3, Reply: 6, ContractVersion: 2,
            FollowUp: 64}
NUMBERED = (Supplier, Offer, *PER_CASE)
CASE_TABLES = [model.__tablename__ for model in WRITE_ORDER[WRITE_ORDER.index(Citizen):]]
BULK_OFFERS_FROM = 500_000
REBUILD_FROM = 10_000      # cases: a load from this size on, larger than what is there, rebuilds the indexes
UTC_EPOCH, NAIVE_EPOCH = datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1)


class Batch:
    """Rows waiting to be written, per table, with the ids the numbered tables' rows get here.

    Every row of a table has the same keys (the columns' defaults, then the values given), as one
    multi-row insert needs; a key that is no column is refused, so a typo cannot pass unseen.
    """

    def __init__(self, now: datetime | None = None, next_id: dict[type, int] | None = None):
        self.now = now or datetime.now(UTC)
        self.rows: dict[type, list[dict]] = {model: [] for model in WRITE_ORDER}
        self.next_id = dict(next_id) if next_id is not None else first_ids()
        # Per table: the row of defaults, the rows, whether it is numbered here (one lookup a row).
        self.tables = {model: (self._defaults(model), self.rows[model], model in self.next_id)
                       for model in WRITE_ORDER}

    def _defaults(self, model) -> dict:
        values = {}
        for column in model.__table__.columns:
            if column.name == "id" and model not in NUMBERED:
                continue      # the database numbers it
            default = column.default
            if default is None:
                values[column.name] = None
            elif default.is_scalar:
                values[column.name] = default.arg
            else:             # utcnow or dict: one value for the whole batch
                values[column.name] = default.arg(None)
        return values

    def peek(self, model) -> int:
        """The id the next row of a numbered table will get."""
        return self.next_id[model]

    def add(self, model, **values) -> int | None:
        """Queue a row; returns its id in a numbered table."""
        defaults, rows, numbered = self.tables[model]
        row = {**defaults, **values}
        if len(row) != len(defaults):
            raise KeyError(f"not columns of {model.__tablename__}: {sorted(set(values) - set(defaults))}")
        ident = None
        if numbered:
            row["id"] = ident = self.next_id[model]
            self.next_id[model] = ident + 1
        rows.append(row)
        return ident

    @property
    def pending(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def statements(self, dialect) -> list[Statement]:
        """The pending rows as inserts, a table at a time, parents before children; the batch is emptied."""
        found = []
        for model in WRITE_ORDER:
            rows = self.rows[model]
            if rows:
                found += _insert_statements(model.__table__, rows, dialect)
                rows.clear()
        return found

    def write(self) -> None:
        """One multi-row insert per table, parents before children."""
        execute(self.statements(db.engine.dialect))


def first_ids() -> dict[type, int]:
    """The next free id of each numbered table."""
    return {model: (db.session.scalar(select(func.max(model.id))) or 0) + 1 for model in NUMBERED}


class Statement(NamedTuple):
    """An insert of many rows, ready for the driver: an executemany's rows, or the text of PostgreSQL's COPY."""

    sql: str
    rows: list[tuple] | None = None
    text: bytes | None = None


def execute(statements: list[Statement]) -> None:
    """Run what Batch.statements made, in this session's transaction."""
    connection = db.session.connection()
    for statement in statements:
        if statement.text is not None:
            with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement.sql) as copy:
                copy.write(statement.text)
        else:
            connection.exec_driver_sql(statement.sql, statement.rows)


def _insert_statements(table, rows: list[dict], dialect) -> list[Statement]:
    """Core's insert(table) for many rows, each value as its column type stores it.

    The statement is compiled once and the values converted a column at a time, which spares SQLAlchemy's
    per-row parameter handling (most of a batch's time otherwise). SQLite gets one executemany (its driver
    loops in C over one prepared statement); PostgreSQL the same columns as the text of one COPY, its bulk
    insert (an executemany there is a round trip per row, a long multi-row VALUES is slow to parse), made
    here: a process making rows hands the writing one over as one string rather than millions of values.
    """
    names = [column.name for column in table.columns if column.name in rows[0]]   # the INSERT's column order
    compiled = insert(table).compile(dialect=dialect, column_keys=names)
    if compiled.positiontup is not None:    # qmark (SQLite): tuples in the statement's order
        order = list(compiled.positiontup)
        columns = zip(*map(itemgetter(*order), rows), strict=True)
        values = [_converted(column, _sqlite_value(table.c[name], dialect))
                  for name, column in zip(order, columns, strict=True)]
        return [Statement(compiled.string, list(zip(*values, strict=True)))]
    into = compiled.string.split(" VALUES ", 1)[0].removeprefix("INSERT INTO ")    # table (columns), quoted
    columns = zip(*map(itemgetter(*names), rows), strict=True)
    texts = [_copy_text(column, table.c[name], dialect) for name, column in zip(names, columns, strict=True)]
    lines = map("\t".join, zip(*texts, strict=True))
    return [Statement(f"COPY {into} FROM STDIN", text=("\n".join(lines) + "\n").encode())]


def _converted(values: tuple, convert, null=None) -> tuple | list:
    """A column's values through `convert` (None: as they are), None becoming `null` (SQL's NULL)."""
    nulls = values.count(None)
    if nulls == len(values):
        return values if null is None else [null] * nulls
    if nulls == 0:
        return values if convert is None else list(map(convert, values))
    if convert is None:
        return [null if value is None else value for value in values]
    return [null if value is None else convert(value) for value in values]


def _once_each(convert):
    """`convert` for values that repeat as the same object (a batch's audit details, a contract's standard
    texts): each converted once."""
    done: dict[int, object] = {}

    def convert_once(value):
        key = id(value)     # the values are alive while their column is converted, so no id is reused
        found = done.get(key)
        if found is None:
            found = done[key] = convert(value)
        return found

    return convert_once


def _sqlite_value(column, dialect):
    """What turns a column's values into what SQLite stores: the column type's bind processor, or the same
    text faster (times and dates are most of the values)."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return sqlite_utc_text
    if isinstance(kind, Date):
        return date.isoformat
    processor = kind.dialect_impl(dialect).bind_processor(dialect)
    return _once_each(processor) if isinstance(kind, JSON) else processor


NULL = "\\N"       # COPY's text for NULL
COPY_SPECIALS = "\\\t\n\r"


def _copy_text(values: tuple, column, dialect) -> tuple | list:
    """A column's values in COPY's text format: NULL as \\N, specials in text escaped, the rest as PostgreSQL
    reads it (JSON as psycopg's Json dumps it)."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        convert = postgres_utc_text
    elif isinstance(kind, Boolean):
        convert = {True: "t", False: "f"}.__getitem__
    elif isinstance(kind, Date):
        convert = date.isoformat
    elif isinstance(kind, JSON):
        convert = _once_each(lambda value: _copy_escaped(json.dumps(value)))
    elif isinstance(kind, LargeBinary):
        convert = _bytea_text
    elif isinstance(kind, String):
        text = "".join(filter(None, values))
        convert = _once_each(_copy_escaped) if any(special in text for special in COPY_SPECIALS) else None
    else:                                    # numbers; Money is stored as its øre
        processor = kind.dialect_impl(dialect).bind_processor(dialect)
        convert = str if processor is None else lambda value: str(processor(value))
    return _converted(values, convert, NULL)


def _copy_escaped(text: str) -> str:
    """Text with COPY's specials escaped (four replaces: a tenth of the cost of a translate table)."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _bytea_text(value: bytes) -> str:
    return "\\\\x" + value.hex()     # \\x and the hex digits, its backslash escaped for COPY


def sqlite_utc_text(value: datetime | None) -> str | None:
    """What UTCDateTime stores in SQLite: the UTC time, naive, as SQLAlchemy's DATETIME writes it.

    The UTC wall time comes from the distance to the epoch: a third of the cost of astimezone and a naive
    isoformat, on the few million times of a large benchmark."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime; use utcnow()")
    return (NAIVE_EPOCH + (value - UTC_EPOCH)).isoformat(" ", "microseconds")


def postgres_utc_text(value: datetime) -> str:
    """A timestamptz in COPY's text: the UTC time with its zone (a naive time cannot be subtracted: refused)."""
    return (NAIVE_EPOCH + (value - UTC_EPOCH)).isoformat(" ", "microseconds") + "+00"


# --- The registry and the staff ---

def bulk_offers(count: int, seed: int = 4) -> int:
    """Suppliers with one to five offers each (the demo registry's, see workflow/demo/registry.py)."""
    rng = random.Random(seed)
    today = date.today()
    batch = Batch()
    # Registry ids and CVR numbers of their own (the demo registry numbers from 0), after any written before.
    first = BULK_OFFERS_FROM + (db.session.scalar(select(func.count(Offer.id))) or 0)
    index, supplier_id, left = first, None, 0
    while index < first + count:
        if left == 0:
            found = _supplier_input(rng, index)
            supplier_id = batch.add(
                Supplier, cvr=found.cvr, name=found.name, supplier_type=found.supplier_type, ean=found.ean or None,
                address=found.address or None, contact_name=found.contact_name or None,
                contact_email=found.contact_email or None, contact_phone=found.contact_phone or None)
            left = rng.randint(1, 5)
        data = _offer_input(rng, index, today)
        offer_id = batch.add(
            Offer, key=data.key, supplier_id=supplier_id, name=data.name, address=data.address or None,
            municipality=data.municipality, places=data.places, vacancies=data.vacancies, list_price=data.list_price,
            price_unit=data.price_unit, price_effective_from=data.price_effective_from,
            approval_status=data.approval_status, approved_on=data.approved_on,
            framework_agreement=data.framework_agreement, framework_name=data.framework_name or None,
            data_updated_on=data.data_updated_on, quality_note=data.quality_note or None, active=True)
        for kind, codes in (("legal_basis", data.legal_bases), ("target_group", data.target_groups),
                            ("service_type", data.service_types)):
            for code in sorted(set(codes)):
                batch.add(OfferTerm, offer_id=offer_id, kind=kind, code=code)
        batch.add(OfferPrice, offer_id=offer_id, price=data.list_price, unit=data.price_unit,
                  effective_from=data.price_effective_from, recorded_at=batch.now)
        index, left = index + 1, left - 1
    batch.write()
    _reset_sequences()
    return count


def bulk_staff(total: int = 200, seed: int = 3) -> int:
    """Units and staff up to `total` users: caseworkers and managers in the case units, procurement, economy
    and administrators in their own; all with the demo password (hashed once). Returns how many were added."""
    rng = random.Random(seed)
    units = {unit.name: unit for unit in db.session.scalars(select(Unit))}
    for name, *_rest in (*STAFF_UNITS, *SHARED_UNITS):
        if name not in units:
            units[name] = users.create_unit(name)
    db.session.flush()
    have = db.session.scalar(select(func.count(User.id))) or 0
    wanted = [(name, Role.CASEWORKER) for name, caseworkers, _m in STAFF_UNITS for _ in range(caseworkers)]
    wanted += [(name, Role.MANAGER) for name, _c, managers in STAFF_UNITS for _ in range(managers)]
    shared = [(name, role) for name, role in SHARED_UNITS]
    while len(wanted) < total - have:
        wanted.append(rng.choices(shared, (10, 10, 1))[0])
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    now = datetime.now(UTC)
    rows = []
    for number, (unit, role) in enumerate(wanted[:max(total - have, 0)], start=have + 1):
        login = f"{role.value}{number:03d}"
        rows.append({"login": login, "full_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                     "email": f"{login}@socialkob.example", "role": role.value, "unit_id": units[unit].id,
                     "approval_limit": ("2000000.00" if number % 2 else "500000.00") if role == Role.MANAGER
                     else None, "active": True, "password_hash": password_hash, "password_changed_at": now,
                     "created_at": now, "version": 1})
    if rows:
        db.session.execute(insert(User.__table__), rows)
    return len(rows)


# --- Cases ---

def _setting(today: date | None = None, with_offers: bool = True) -> Setting:
    """The registry's active offers (by legal basis), the settings and the texts every case is written against."""
    offers: dict[str, list[OfferFacts]] = {code: [] for code in LEGAL_BASES}
    if with_offers:
        terms: dict[int, list[tuple[str, str]]] = {}
        for offer_id, kind, code in db.session.execute(select(OfferTerm.offer_id, OfferTerm.kind, OfferTerm.code)
                                                       .order_by(OfferTerm.offer_id, OfferTerm.kind, OfferTerm.code)):
            terms.setdefault(offer_id, []).append((kind, code))
        with force_locale("da"):   # the contract's service text, as contracts.draft_from_choice writes it
            labels = {code: str(label) for code, label in SERVICE_TYPE_LABELS.items()}
        query = (select(Offer.id, Offer.name, Supplier.name, Supplier.cvr, Supplier.ean, Supplier.contact_email,
                        Supplier.contact_name, Offer.price_unit, Offer.list_price, Offer.approval_status,
                        Offer.vacancies, Offer.framework_name)
                 .join(Supplier).where(Offer.active.is_(True), Supplier.contact_email.is_not(None))
                 .order_by(Offer.id))
        for offer_id, name, supplier, cvr, ean, email, contact, unit, price, status, vacancies, framework in \
                db.session.execute(query):
            codes = terms.get(offer_id, [])
            service = f"{name}: " + ", ".join(labels[code] for kind, code in codes if kind == "service_type")
            facts = OfferFacts(offer_id, name, supplier, cvr, ean, email, contact or "", unit, price,
                               status == "approved", vacancies, framework, service)
            for kind, code in codes:
                if kind == "legal_basis" and code in offers:
                    offers[code].append(facts)
    config = current_app.config
    levels, services = Setting.texts()
    return Setting(today=today or clock.today(), now=datetime.now(UTC), offers=offers,
                   tiers=settings.get("approval_tiers"),
                   intervals={code: followup.interval(code) for code in LEGAL_BASES},
                   municipality=config["MUNICIPALITY_NAME"], municipality_ean=config["MUNICIPALITY_EAN"],
                   level_text=levels, services=services)


class _Teams:
    """The staff cases are spread over: caseworkers (with their unit), procurement, economy, each unit's approver."""

    def __init__(self):
        self.caseworkers = [tuple(row) for row in db.session.execute(
            select(User.id, User.unit_id, Unit.name).join(Unit, Unit.id == User.unit_id)
            .where(User.role == Role.CASEWORKER, User.active.is_(True)).order_by(User.id))]
        if not self.caseworkers:
            raise RuntimeError("no caseworkers to own the cases")
        self.procurement = list(db.session.scalars(select(User.id).where(User.role == Role.PROCUREMENT)
                                                   .order_by(User.id)))
        self.economy = list(db.session.scalars(select(User.id).where(User.role == Role.ECONOMY).order_by(User.id)))
        self.approvers: dict[int, int] = {}
        for user_id, unit_id in db.session.execute(
                select(User.id, User.unit_id).where(User.role == Role.MANAGER, User.active.is_(True))
                .order_by(User.approval_limit.desc(), User.id)):
            self.approvers.setdefault(unit_id, user_id)   # the one with the highest limit

    def draw(self, rng: random.Random, owner: tuple | None = None, whole: bool = False) -> tuple[Team, bool]:
        """A team around a random caseworker (or the one given), and whether the unit has children's cases.

        Four in five cases have an economy colleague; a `whole` team always has one."""
        owner_id, unit_id, unit_name = owner or rng.choice(self.caseworkers)
        team = Team(unit_id, owner_id, rng.choice(self.procurement) if self.procurement else None,
                    rng.choice(self.economy) if self.economy and (whole or rng.random() < 0.8) else None,
                    self.approvers.get(unit_id))
        return team, unit_name in CHILD_UNITS


@dataclass(frozen=True)
class _Work:
    """What the processes making cases share: the setting, the teams and the database's dialect."""

    setting: Setting
    teams: _Teams
    dialect: object


@dataclass(frozen=True)
class _Chunk:
    """Cases `first` to `first + size - 1`, with the ids and CPR numbers they may use."""

    first: int
    size: int
    seed: int
    long_every: int
    next_id: dict
    adults: list[str]
    children: list[str]


def _citizen(rng: random.Random, cpr: str) -> dict:
    return {"cpr": cpr, "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "home_municipality": rng.choice(MUNICIPALITIES).code}


def _make(work: _Work, chunk: _Chunk) -> list[Statement]:
    """The inserts of one chunk of cases in every stage (the same cases whichever process makes them)."""
    with _collector_paused():
        return _make_rows(work, chunk)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while rows are made and written: their hundreds of thousands of new
    objects a chunk would set it off again and again to walk them all (near a third of the making), and
    they hold no cycles (they are freed as soon as they are written)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _make_rows(work: _Work, chunk: _Chunk) -> list[Statement]:
    rng = random.Random(f"{chunk.seed}-{chunk.first}")
    batch = Batch(work.setting.now, chunk.next_id)
    writer = CaseWriter(batch, rng, work.setting)
    stages, stage_weights = list(STAGE_MIX), list(accumulate(STAGE_MIX.values()))
    bases = {False: (list(ADULT_BASES), list(accumulate(ADULT_BASES.values()))),
             True: (list(CHILD_BASES), list(accumulate(CHILD_BASES.values())))}
    cprs = {False: iter(chunk.adults), True: iter(chunk.children)}
    caseworkers = work.teams.caseworkers
    tour = len(stages) * len(caseworkers)
    for index in range(chunk.first, chunk.first + chunk.size):
        long = chunk.long_every > 0 and index % chunk.long_every == 0
        owner = None
        if long:     # the long histories go to the caseworkers in turn, the first case of all to the first
            owner = caseworkers[index // chunk.long_every % len(caseworkers)]
        elif index <= tour:      # then each caseworker in turn has a case in every stage
            owner = caseworkers[(index - 1) // len(stages)]
        team, child = work.teams.draw(rng, owner, whole=long)
        codes, weights = bases[child]
        code = rng.choices(codes, cum_weights=weights)[0]
        stage = stages[(index - 1) % len(stages)] if 0 < index <= tour else \
            rng.choices(stages, cum_weights=stage_weights)[0]
        _basis, group, budget = _case_input(rng, child, code)
        writer.write("follow_up" if long else stage, team, _citizen(rng, next(cprs[child])), code, group, budget,
                     cancelled_from=rng.choice(PATH[:5]) if stage == "cancelled" else None, long=long)
    for model, per_case in PER_CASE.items():
        if batch.next_id[model] > chunk.next_id[model] + chunk.size * per_case:
            raise RuntimeError(f"a chunk of cases used more {model.__tablename__} ids than it was given")
    return batch.statements(work.dialect)


_WORKER: _Work | None = None    # in a worker process: what its parent handed over when it started


def _start_worker(work: _Work) -> None:
    global _WORKER
    _WORKER = work


def _make_in_worker(chunk: _Chunk) -> list[Statement]:
    return _make(_WORKER, chunk)


def _chunks(count: int, seed: int, size: int, long_every: int) -> Iterator[_Chunk]:
    """The chunks of `count` cases: each with its own range of ids (PER_CASE a case) and fresh CPR numbers.

    What the database holds is read here; the chunks are made as they are asked for (by the pool's feeding
    thread, while the first ones are being made: a second at 100,000 cases otherwise spent before any)."""
    cprs = CprFactory(random.Random(seed))
    cprs.used |= set(db.session.scalars(select(Citizen.cpr)))
    base = first_ids()

    def made() -> Iterator[_Chunk]:
        for first in range(0, count, size):
            part = min(size, count - first)
            yield _Chunk(first, part, seed, long_every,
                         {model: base[model] + first * PER_CASE.get(model, 0) for model in base},
                         [cprs.adult() for _ in range(part)], [cprs.child() for _ in range(part)])

    return made()


def bulk_cases(count: int, seed: int = 7, batch: int = 2500, long_every: int = LONG_EVERY,
               workers: int | None = None, rebuild_indexes: bool | None = None) -> int:
    """Insert `count` cases in every stage with their history (benchmarks); returns how many were written.

    Offers come from the registry; when it is empty, a small one is written first. More than one chunk
    (`batch` cases) is made by `workers` processes (default: one per CPU) while this one writes.
    """
    if not db.session.scalar(select(func.count(Offer.id))):
        bulk_offers(200)
    work = _Work(_setting(), _Teams(), db.engine.dialect)
    chunks = _chunks(count, seed, batch, long_every)
    if workers is None:
        workers = (os.cpu_count() or 1) if count > batch else 0
    if rebuild_indexes is None:
        rebuild_indexes = count >= max(REBUILD_FROM, db.session.scalar(select(func.count(PurchaseCase.id))) or 0)
    with _bulk_load(rebuild_indexes), _collector_paused():
        if workers > 1:
            # Forked, the workers have the parent's modules and app already; they make rows and never touch the
            # database (their copies of its connections stay unused).
            with multiprocessing.get_context("fork").Pool(workers, _start_worker, (work,)) as pool:
                for statements in pool.imap(_make_in_worker, chunks):
                    execute(statements)
        else:
            for chunk in chunks:
                execute(_make(work, chunk))
    _reset_sequences()
    return count


def long_history_case(owner_id: int, seed: int = 8) -> int:
    """One running placement of this caseworker's with a long history: ten years of follow-ups (the latest
    overdue), 150 comments, hundreds of audit events and 2,000 reads. Returns its id."""
    rng = random.Random(seed)
    owner = db.session.execute(select(User.id, User.unit_id, Unit.name).join(Unit, Unit.id == User.unit_id)
                               .where(User.id == owner_id)).one()
    team, child = _Teams().draw(rng, owner=tuple(owner), whole=True)
    setting = _setting()
    batch = Batch(setting.now)
    cprs = CprFactory(rng)
    cprs.used |= set(db.session.scalars(select(Citizen.cpr)))
    code = "BL-46" if child else "SEL-108"
    _basis, group, budget = _case_input(rng, child, code)
    case_id = CaseWriter(batch, rng, setting).write(
        "follow_up", team, _citizen(rng, cprs.child() if child else cprs.adult()), code, group, budget, long=True)
    batch.write()
    _reset_sequences()
    return case_id


def bulk_placements(count: int, unit_id: int, owner_id: int, buyer_id: int, approver_id: int, today: date,
                    seed: int = 5) -> int:
    """Running placements in one unit (the portfolio's benchmark): cases in follow-up, each with an approved
    contract version with price lines (a made-up supplier: no registry needed), the follow-ups held since
    the start and the next one open (overdue for about one in six, some soon due), an open supplier review,
    and its stays in stages 1–7. Returns how many were written."""
    rng = random.Random(seed)
    cprs = CprFactory(rng)
    cprs.used |= set(db.session.scalars(select(Citizen.cpr)))
    setting = _setting(today, with_offers=False)
    batch = Batch(setting.now)
    writer = CaseWriter(batch, rng, setting)
    team = Team(unit_id, owner_id, buyer_id, None, approver_id)
    for _index in range(count):
        code = rng.choice(("SEL-108", "SEL-107", "SEL-85", "SEL-104", "BL-46", "BL-32"))
        child = LEGAL_BASES[code].for_children
        _basis, group, budget = _case_input(rng, child, code)
        writer.write("follow_up", team, _citizen(rng, cprs.child() if child else cprs.adult()), code, group, budget,
                     run_days=rng.randint(20, 1100))
        if batch.pending > 50_000:
            batch.write()
    batch.write()
    _reset_sequences()
    return count


@contextlib.contextmanager
def _bulk_load(rebuild_indexes: bool = False) -> Iterator[None]:
    """What each database needs to take a bulk load well, for the load only.

    SQLite: a page cache of up to 1 GiB, taken as the load grows: 100,000 cases (1.1 GB) stay in it (the default
    2 MiB thrashes on the indexes; 256 MiB spilled pages to the log mid-load and read them back, a fifth of the
    writing's time).
    PostgreSQL checks every foreign key of every row with a trigger, half a bulk load's time; the rows made
    here point only at rows that exist or come before them, so a superuser (the benchmarks' own server)
    loads them as pg_restore does, with the triggers off; anyone else with them on.
    With `rebuild_indexes` (a load larger than what is there), the case tables' indexes that take rows at
    random places (by time, owner, action) are dropped and made again afterwards, as pg_restore does: an index
    built from sorted rows costs a fraction of one kept up row by row, which was a third of the writing of
    100,000 cases (and grew with every chunk).
    """
    dialect = db.engine.dialect.name
    before = db.session.scalar(db.text("PRAGMA cache_size")) if dialect == "sqlite" else None
    triggers_off = dialect == "postgresql" and \
        db.session.scalar(db.text("SELECT current_setting('is_superuser')")) == "on"
    if before is not None:
        db.session.execute(db.text("PRAGMA cache_size = -1048576"))
    if triggers_off:
        db.session.execute(db.text("SET LOCAL session_replication_role = replica"))
    dropped = _drop_indexes(CASE_TABLES) if rebuild_indexes else []
    yield       # a failed load leaves them so: its transaction is rolled back anyway
    _make_indexes(dropped)
    if before is not None:
        db.session.execute(db.text(f"PRAGMA cache_size = {int(before)}"))
    if triggers_off:
        db.session.execute(db.text("SET LOCAL session_replication_role = origin"))


def _drop_indexes(tables: list[str]) -> list[str]:
    """Drop the indexes on `tables` that no constraint owns (not the primary keys, not the unique constraints)
    and that do not grow at their end; returns their definitions, as the database gives them."""
    if db.engine.dialect.name == "sqlite":
        query = db.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                        "AND tbl_name IN :tables")
    else:
        query = db.text("SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
                        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                        "WHERE t.relname IN :tables AND t.relnamespace = CAST(current_schema() AS regnamespace) "
                        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)")
    found = db.session.execute(query.bindparams(bindparam("tables", expanding=True)), {"tables": tables}).all()
    growing = _growing_at_their_end()
    found = [(name, definition) for name, definition in found if name not in growing]
    connection, quote = db.session.connection(), db.engine.dialect.identifier_preparer.quote
    for name, _definition in found:
        connection.exec_driver_sql(f"DROP INDEX {quote(name)}")
    return [definition for _name, definition in found]


def _growing_at_their_end() -> set[str]:
    """The case tables' indexes led by a reference to a row the same load writes (a case, its assessment, ...):
    those rows come in id order, so such an index only grows at its end, as cheap to keep up as to make again."""
    return {index.name for model in WRITE_ORDER for index in model.__table__.indexes
            if model.__tablename__ in CASE_TABLES and index.columns
            and any(key.column.table.name in CASE_TABLES for key in index.columns[0].foreign_keys)}


def _make_indexes(definitions: list[str]) -> None:
    """Make the dropped indexes again, each from its sorted rows (PostgreSQL: with room to sort in memory)."""
    if not definitions:
        return
    connection = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for definition in definitions:
        connection.exec_driver_sql(definition)


def _reset_sequences() -> None:
    """After inserts with explicit ids, PostgreSQL's sequences must move past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for model in NUMBERED:
        table = model.__tablename__
        db.session.execute(db.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"  # noqa: S608 - fixed names
        ))
