"""`make bench` keeps working: the harness at a tiny scale on this run's database, and its parts."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bench import run, wrk
from workflow.demo.bulk import sqlite_utc_text
from workflow.models.types import UTCDateTime

WRK_REPORT = """Running 10s test @ http://127.0.0.1:40123/cases/7
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    21.40ms    3.02ms  61.33ms   91.20%
    Req/Sec   187.41     12.80   210.00     80.00%
  Latency Distribution
     50%   20.87ms
     75%   22.10ms
     90%   24.62ms
     99%    1.02s
  1869 requests in 10.01s, 21.93MB read
  Non-2xx or 3xx responses: 3
Requests/sec:    186.72
Transfer/sec:      2.19MB
"""


@pytest.mark.slow
def test_the_harness_measures_every_page_and_target_at_a_tiny_scale(request, tmp_path):
    kind = request.config.getoption("--db")
    out = tmp_path / "results.json"
    run.main(["--cases", "300", "--small", "100", "--db", kind, "--runs", "3", "--warmup", "1", "--pdf-runs", "1",
              "--contract-runs", "2", "--sample", "1", "--offers", "300", "--users", "60",
              "--portfolio-contracts", "20", "--wrk-seconds", "0", "--out", str(out)])
    results = json.loads(out.read_text())

    measured = results["databases"][kind]
    assert measured["seeding"]["cases"] == 300 and measured["seeding"]["seconds"] > 0
    assert measured["rows"]["purchase_cases"] == 300 + 1 + 20      # the cases, the long history, the portfolio's
    assert measured["sample_pages_failed"] == []
    expected = {"case list, page 1", "case list, deep page with filters", "case page, long history",
                "case page, running placement", "task list", "start page with tasks", "market scan", "dashboard"}
    assert set(measured["pages"]) == expected
    for name, page in measured["pages"].items():
        assert page["statuses"] == [200], name
        assert page["queries"] > 0 and page["queries_small"] > 0, name
        assert 0 < page["ms"]["p50"] <= page["ms"]["p95"] <= page["ms"]["max"], name
    assert measured["portfolio_pdf"]["active_contracts"] == 20 and measured["portfolio_pdf"]["pages"] >= 1
    assert measured["contract_pdf"]["ratio"] > 0

    targets = results["targets"]
    assert f"seeding 300 cases ({kind})" in targets
    assert f"dashboard p95 ({kind})" in targets and f"contract PDF ÷ WeasyPrint alone ({kind})" in targets
    for name, target in targets.items():
        assert set(target) == {"value", "limit", "met"}, name
        assert isinstance(target["met"], bool), name
    dashboard = targets[f"dashboard p95 ({kind})"]
    assert dashboard["limit"] == 200 and dashboard["met"] == (dashboard["value"] < 200)


def test_wrk_reports_are_read_with_their_units_and_errors():
    found = wrk.parse(WRK_REPORT)
    assert found["requests_per_second"] == 186.72 and found["requests"] == 1869
    assert found["latency_p50_ms"] == 20.87 and found["latency_p99_ms"] == 1020.0
    assert found["errors"] == 3


@pytest.mark.parametrize("moment", [
    datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=UTC),
    datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC),                                  # no microseconds
    datetime(2025, 10, 26, 2, 30, tzinfo=timezone(timedelta(hours=2))),        # not UTC: turned to UTC
])
def test_the_bulk_writers_sqlite_times_are_what_the_column_type_stores(moment):
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    stored = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)(moment)
    assert sqlite_utc_text(moment) == stored


def _index_definitions(db) -> set[str]:
    if db.engine.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    return set(db.session.scalars(db.text(query)))


def test_a_large_load_writes_without_the_secondary_indexes_and_makes_the_same_again(staff, db, monkeypatch):
    from sqlalchemy import func, select

    from workflow.demo import bulk
    from workflow.models import AuditEvent, PurchaseCase

    bulk.bulk_offers(60)
    before = _index_definitions(db)
    during = []
    execute = bulk.execute
    monkeypatch.setattr(bulk, "execute", lambda rows: (during.append(_index_definitions(db)), execute(rows)))
    bulk.bulk_cases(40, rebuild_indexes=True, workers=0, batch=20)
    db.session.commit()

    assert _index_definitions(db) == before
    assert len(during) == 2 and all(found < before for found in during)
    gone = before - during[0]
    assert any("ix_audit_events_occurred_at" in definition for definition in gone)     # rows at random places
    assert not any("ix_audit_events_case" in definition for definition in gone)        # grows at its end
    assert not any("ix_users_unit_id" in definition for definition in gone)     # not a table the load writes
    assert db.session.scalar(select(func.count(PurchaseCase.id))) == 40
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.case_id.is_not(None))) > 40


def test_the_bulk_writer_stores_text_times_and_json_as_the_models_read_them(staff, db):
    """Tabs, line breaks, backslashes, empty text and Danish letters survive PostgreSQL's COPY text as they are."""
    from sqlalchemy import select

    from tests.factories import make_case
    from workflow.demo.bulk import Batch
    from workflow.models import AuditEvent, Citizen, ContractVersion

    case = make_case(staff.caseworker)
    odd = "Åse\tTab\nny linje\\skråstreg\r\\N"
    moment = datetime(2025, 10, 26, 2, 30, 0, 12, tzinfo=timezone(timedelta(hours=2)))
    details = {"tekst": odd, "tal": [1, None, True, 2.5], "tom": ""}
    batch = Batch()
    citizen = batch.add(Citizen, cpr="0101011234", name=odd, home_municipality="", anonymised_at=moment)
    batch.add(AuditEvent, occurred_at=moment, action="test.odd", object_type=None, case_id=case.id, details=details)
    batch.add(AuditEvent, occurred_at=moment, action="test.odd", object_type="", case_id=case.id, details=details)
    contract = batch.add(ContractVersion, case_id=case.id, number=9, acting_municipality="Ø", paying_municipality="Ø",
                         supplier_name=odd, supplier_cvr="12345678", offer_name="x", legal_basis="SEL-108",
                         primary_service="y", drafted_by_id=staff.caseworker.id, pdf=b"%PDF\x00\\\t\n\xff")
    batch.write()
    db.session.commit()
    db.session.expire_all()

    stored = db.session.get(Citizen, citizen)
    assert (stored.name, stored.home_municipality, stored.anonymised_at) == (odd, "", moment)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "test.odd")
                                .order_by(AuditEvent.id)).all()
    assert [(event.object_type, event.details, event.occurred_at) for event in events] == \
        [(None, details, moment), ("", details, moment)]
    version = db.session.get(ContractVersion, contract)
    assert (version.supplier_name, version.pdf) == (odd, b"%PDF\x00\\\t\n\xff")
