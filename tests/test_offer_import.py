"""Importing the offer registry from CSV: validation of every row, all-or-nothing writes, re-imports, the CLI."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from tests.support.offer_csv import row, to_csv
from workflow.models import AuditEvent, Offer, OfferPrice, OfferTerm, Supplier
from workflow.services import ServiceError, offer_import
from workflow.services.offer_import import COLUMNS, REQUIRED_COLUMNS, apply_import, plan_import

EXAMPLE = Path(__file__).parent / "data" / "offers-example.csv"
TODAY = date(2026, 11, 26)


def three_rows(**changes) -> list[dict]:
    """Good rows on lines 2 and 4 around the row under test on line 3."""
    return [row(key="TP-1"), row(**{"key": "TP-2", **changes}),
            row(key="TP-3", supplier_cvr="22222222", supplier_name="Aalborg Kommune", supplier_ean="",
                supplier_type="kommunal")]


def plan(text: str):
    with force_locale("en"):
        return plan_import(text, today=TODAY)


def table_counts(db) -> dict[str, int]:
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Supplier, Offer, OfferPrice, OfferTerm, AuditEvent)}


def offer(db, key: str) -> Offer:
    return db.session.scalar(select(Offer).where(Offer.key == key))


def import_text(db, text: str, actor=None) -> dict:
    result = plan(text)
    assert result.ok, result.errors
    summary = apply_import(result, actor)
    db.session.commit()
    return summary


# --- The happy path ------------------------------------------------------------------------------------------

def test_example_file_imports_suppliers_offers_terms_and_prices(db, staff):
    result = plan(EXAMPLE.read_text(encoding="utf-8"))
    assert result.errors == [] and result.ok
    assert (result.new_offers, result.updated_offers, result.unchanged_offers, result.new_suppliers) == (6, 0, 0, 4)
    assert table_counts(db)["offers"] == 0, "planning writes nothing"

    summary = apply_import(result, staff.admin)
    db.session.commit()
    assert summary["new_offers"] == 6 and summary["new_suppliers"] == 4 and summary["new_prices"] == 6
    counts = table_counts(db)
    assert (counts["suppliers"], counts["offers"], counts["offer_prices"]) == (4, 6, 6)

    db.session.expire_all()
    lindely = offer(db, "TP-1001")
    assert lindely.supplier.cvr == "12345678" and lindely.supplier.name == "Bofællesskabet Lindely ApS"
    assert lindely.supplier.ean == "5790001234567" and lindely.supplier.supplier_type == "privat"
    assert lindely.list_price == Decimal("2450.00") and isinstance(lindely.list_price, Decimal)
    assert offer(db, "TP-1002").list_price == Decimal("2875.50")
    assert lindely.price_unit == "døgn" and lindely.price_effective_from == date(2026, 1, 1)
    assert lindely.legal_bases == ["SEL-108", "SEL-85"]
    assert lindely.target_groups == ["autism", "intellectual_disability"]
    assert lindely.service_types == ["residence", "socio_educational_support"]
    assert (lindely.places, lindely.vacancies, lindely.municipality) == (24, 2, "751")
    assert lindely.approval_status == "approved" and lindely.approved_on == date(2019, 3, 15)
    assert lindely.framework_agreement is True and lindely.framework_name == "Rammeaftale Midt 2025"
    assert lindely.data_updated_on == date(2026, 11, 1)
    assert lindely.quality_note == "Tilsynsrapport 2026: ingen anmærkninger; god dokumentation."
    assert [(p.price, p.unit, p.effective_from) for p in lindely.prices] == [
        (Decimal("2450.00"), "døgn", date(2026, 1, 1))]
    pending = offer(db, "TP-3001")
    assert pending.approval_status == "pending" and pending.approved_on is None
    assert pending.framework_agreement is False and pending.framework_name is None
    assert offer(db, "TP-2001").supplier.ean is None

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "offers.imported"))
    assert event.actor_id == staff.admin.id and event.object_type == "offers"
    assert event.details["new_offers"] == 6 and event.details["new_suppliers"] == 4


def test_danish_and_plain_amounts_and_both_date_formats(db):
    text = to_csv([row(key="A", list_price="2.450,50", price_effective_from="2026-01-31"),
                   row(key="B", list_price="2450.50", price_effective_from="31-01-2026"),
                   row(key="C", list_price="1.234.567,89 kr."), row(key="D", list_price="650")])
    result = plan(text)
    assert result.ok, result.errors
    assert [r.list_price for r in result.rows] == [Decimal("2450.50"), Decimal("2450.50"),
                                                    Decimal("1234567.89"), Decimal("650.00")]
    assert {r.price_effective_from for r in result.rows[:2]} == {date(2026, 1, 31)}
    import_text(db, text)
    assert offer(db, "C").list_price == Decimal("1234567.89")


@pytest.mark.parametrize(("word", "status"), [
    ("godkendt", "approved"), ("Godkendt", "approved"), ("APPROVED", "approved"), ("afventer", "pending"),
    ("pending", "pending"), ("ikke godkendt", "not_approved"), ("Ikke  Godkendt", "not_approved"),
    ("not_approved", "not_approved")])
def test_approval_status_words(app_ctx, word, status):
    result = plan(to_csv([row(approval_status=word)]))
    assert result.ok, result.errors
    assert result.rows[0].approval_status == status


@pytest.mark.parametrize(("word", "value"), [
    ("ja", True), ("JA", True), ("yes", True), ("1", True), ("true", True),
    ("nej", False), ("no", False), ("0", False), ("False", False), ("", False)])
def test_framework_agreement_words(app_ctx, word, value):
    result = plan(to_csv([row(framework_agreement=word)]))
    assert result.ok, result.errors
    assert result.rows[0].framework_agreement is value


def test_cells_are_text_never_evaluated(db):
    formula = "=HYPERLINK(\"http://example.org\")"
    code = "__import__('os').system('false')"
    import_text(db, to_csv([row(offer_name=formula, quality_note=code, address="{{ 7*7 }}")]))
    stored = offer(db, "TP-1")
    assert (stored.name, stored.quality_note, stored.address) == (formula, code, "{{ 7*7 }}")


def test_optional_columns_may_be_left_out(db):
    columns = [name for name in COLUMNS if name in REQUIRED_COLUMNS]
    text = to_csv([row(approval_status="afventer")], columns=columns)
    import_text(db, text)
    stored = offer(db, "TP-1")
    assert stored.address is None and stored.approved_on is None and stored.framework_agreement is False
    assert stored.supplier.ean is None


# --- Delimiters, BOM, header ---------------------------------------------------------------------------------

def test_semicolon_and_comma_delimiters_give_the_same_rows(app_ctx):
    rows = [row(key="A", list_price="2.450,00"), row(key="B", list_price="2450.00", quality_note="a, b; c")]
    semicolon, comma = plan(to_csv(rows, ";")), plan(to_csv(rows, ","))
    assert semicolon.ok and comma.ok, (semicolon.errors, comma.errors)
    assert (semicolon.delimiter, comma.delimiter) == (";", ",")
    assert semicolon.rows == comma.rows
    assert comma.rows[1].quality_note == "a, b; c"


def test_byte_order_mark_is_ignored(db, app, tmp_path):
    text = "\ufeff" + to_csv([row()])
    result = plan(text)
    assert result.ok, result.errors
    assert offer_import.decode(text.encode("utf-8")) == text[1:]
    assert offer_import.decode(text[1:].encode("utf-8-sig")) == text[1:]
    path = tmp_path / "bom.csv"
    path.write_bytes(EXAMPLE.read_text(encoding="utf-8").encode("utf-8-sig"))
    outcome = app.test_cli_runner().invoke(args=["import-offers", str(path)])
    assert outcome.exit_code == 0, outcome.output
    assert table_counts(db)["offers"] == 6


def test_a_file_with_nul_characters_is_refused_and_a_filename_keeps_no_control_characters(db, staff):
    with pytest.raises(ServiceError):
        offer_import.decode((to_csv([row()]) + "x;\x00\r\n").encode("utf-8"))
    batch = offer_import.store_for_preview("tilbud\x00\n.csv", to_csv([row()]), staff.procurement)
    db.session.commit()
    assert batch.filename == "tilbud.csv"


def test_header_names_are_trimmed_and_case_insensitive(app_ctx):
    header = ";".join(f" {name.upper()} " for name in COLUMNS)
    body = to_csv([row()]).split("\r\n", 1)[1]
    result = plan(header + "\r\n" + body)
    assert result.ok, result.errors


def test_missing_columns_are_named(app_ctx):
    columns = [name for name in COLUMNS if name not in ("list_price", "municipality_code")]
    result = plan(to_csv([row()], columns=columns))
    assert not result.ok and result.rows == []
    assert [(e.line, e.column) for e in result.errors] == [(1, None)]
    assert "municipality_code, list_price" in result.errors[0].message


def test_unknown_and_duplicate_columns_are_refused(app_ctx):
    unknown = plan(to_csv([row()], columns=[*COLUMNS, "quality_notes"]))
    assert [(e.line, e.column) for e in unknown.errors] == [(1, "quality_notes")]
    twice = plan(to_csv([row()], columns=[*COLUMNS, "key"]))
    assert [(e.line, e.column) for e in twice.errors] == [(1, "key")]


@pytest.mark.parametrize("text", ["", "\ufeff", "   \n", ";".join(COLUMNS) + "\n", ";".join(COLUMNS) + "\n;;\n\n"])
def test_empty_files_and_files_without_rows(app_ctx, text):
    result = plan(text)
    assert not result.ok and result.rows == []
    assert [(e.line, e.column) for e in result.errors] == [(1, None)]


def test_too_many_characters_or_rows(app_ctx, monkeypatch):
    monkeypatch.setattr(offer_import, "MAX_CHARS", 500)
    too_long = plan(to_csv([row()]))
    assert not too_long.ok and "too large" in too_long.errors[0].message
    monkeypatch.setattr(offer_import, "MAX_CHARS", 5_000_000)
    monkeypatch.setattr(offer_import, "MAX_ROWS", 2)
    too_many = plan(to_csv([row(key="A"), row(key="B"), row(key="C")]))
    assert not too_many.ok and too_many.rows == []
    assert [(e.line, e.column) for e in too_many.errors] == [(4, None)]
    assert "more than 2 rows" in too_many.errors[0].message
    assert plan(to_csv([row(key="A"), row(key="B")])).ok


def test_the_real_limits():
    assert offer_import.MAX_CHARS == 5_000_000 and offer_import.MAX_ROWS == 20_000


# --- Bad rows ------------------------------------------------------------------------------------------------

BAD_VALUES = [
    # (column, bad value, words the message must contain)
    ("key", "", "required"),
    ("key", "K" * 41, "at most 40"),
    ("supplier_cvr", "1234567", "8 digits: 1234567"),
    ("supplier_cvr", "123456789", "8 digits: 123456789"),
    ("supplier_cvr", "1234567a", "8 digits: 1234567a"),
    ("supplier_cvr", "", "required"),
    ("supplier_name", "", "required"),
    ("supplier_name", "N" * 201, "at most 200"),
    ("supplier_ean", "57900012345", "13 digits: 57900012345"),
    ("supplier_ean", "579000123456x", "13 digits"),
    ("supplier_type", "offentlig", "Unknown supplier type: offentlig"),
    ("supplier_type", "", "required"),
    ("offer_name", "", "required"),
    ("offer_name", "Bo\x00sted", "control character"),
    ("address", "A" * 301, "at most 300"),
    ("municipality_code", "999", "Unknown municipality code: 999"),
    ("municipality_code", "", "required"),
    ("legal_bases", "SEL-108|SEL-999", "Unknown legal basis: SEL-999"),
    ("legal_bases", "", "At least one legal basis"),
    ("target_groups", "autism|elderly", "Unknown target group: elderly"),
    ("service_types", "residence|cooking", "Unknown service type: cooking"),
    ("places", "-1", "whole number of 0 or more: -1"),
    ("places", "2,5", "whole number of 0 or more: 2,5"),
    ("places", "ti", "whole number of 0 or more: ti"),
    ("places", "", "required"),
    ("places", "1000001", "too large"),
    ("vacancies", "25", "Vacancies (25) exceed places (24)"),
    ("vacancies", "1e3", "whole number of 0 or more: 1e3"),
    ("list_price", "0", "greater than 0"),
    ("list_price", "0,00", "greater than 0"),
    ("list_price", "-2.450,00", "greater than 0"),
    ("list_price", "to tusind", "Not an amount: to tusind"),
    ("list_price", "2450.5.0", "Not an amount: 2450.5.0"),
    ("list_price", "1e3", "Not an amount: 1e3"),
    ("list_price", "NaN", "Not an amount: NaN"),
    ("list_price", "", "required"),
    ("list_price", "2.000.000.000,00", "too large"),
    ("price_unit", "uge", "Unknown price unit: uge"),
    ("price_effective_from", "2026/01/01", "Not a date"),
    ("price_effective_from", "31-02-2026", "Not a date"),
    ("price_effective_from", "1-1-2026", "Not a date"),
    ("price_effective_from", "", "required"),
    ("approval_status", "måske", "Unknown approval status: måske"),
    ("approved_on", "", "date of approval"),
    ("approved_on", "2026-13-01", "Not a date"),
    ("framework_agreement", "måske", "yes or no (ja/nej): måske"),
    ("framework_name", "F" * 201, "at most 200"),
    ("data_updated_on", "27-11-2026", "in the future: 27-11-2026"),
    ("data_updated_on", "", "required"),
]


@pytest.mark.parametrize(("column", "value", "words"), BAD_VALUES,
                         ids=[f"{column}={value[:12]!r}" for column, value, _words in BAD_VALUES])
def test_a_bad_value_is_named_with_its_line_column_and_reason(app_ctx, column, value, words):
    result = plan(to_csv(three_rows(**{column: value})))
    assert not result.ok and result.rows == []
    assert [(e.line, e.column) for e in result.errors] == [(3, column)], result.errors
    assert words.lower() in result.errors[0].message.lower()


def test_every_error_of_every_row_is_collected(app_ctx):
    rows = three_rows(list_price="gratis", municipality_code="000")
    rows[2]["places"] = "x"
    rows.append(row(key="TP-4", data_updated_on="31-12-2099", price_unit="uge"))
    result = plan(to_csv(rows))
    assert [(e.line, e.column) for e in result.errors] == [
        (3, "municipality_code"), (3, "list_price"), (4, "places"), (5, "price_unit"), (5, "data_updated_on")]


def test_duplicate_keys_in_one_file(app_ctx):
    result = plan(to_csv([row(key="TP-1"), row(key="TP-2"), row(key="TP-1")]))
    assert [(e.line, e.column) for e in result.errors] == [(4, "key")]
    assert "line 2" in result.errors[0].message


@pytest.mark.parametrize(("column", "other"), [
    ("supplier_name", "Lindely A/S"), ("supplier_type", "selvejende"), ("supplier_ean", "5790009999999"),
    ("supplier_ean", "")])
def test_one_cvr_must_carry_one_supplier(app_ctx, column, other):
    result = plan(to_csv([row(key="A"), row(key="B"), row(key="C", **{column: other})]))
    assert [(e.line, e.column) for e in result.errors] == [(4, column)]
    assert "11111111" in result.errors[0].message and "line 2" in result.errors[0].message


def test_a_row_with_the_wrong_number_of_values(app_ctx):
    text = to_csv([row(key="A")]) + "B;11111111;Lindely ApS\r\n"
    result = plan(text)
    assert [(e.line, e.column) for e in result.errors] == [(3, None)]
    assert "Expected 22 values, found 3" in result.errors[0].message


def test_trailing_delimiters_are_tolerated(app_ctx):
    text = to_csv([row(key="A"), row(key="B")]).replace("\r\n", ";;\r\n")
    result = plan(text)
    assert result.ok, result.errors


def test_line_numbers_count_lines_of_multi_line_cells(app_ctx):
    rows = [row(key="A", quality_note="første linje\nanden linje\ntredje linje"), row(key="B", places="x")]
    result = plan(to_csv(rows))
    assert [(e.line, e.column) for e in result.errors] == [(5, "places")]


def test_unterminated_quote_is_reported(app_ctx):
    text = to_csv([row(key="A")]) + 'B;"11111111\r\n'
    result = plan(text)
    assert not result.ok and result.errors[0].column is None


# --- All or nothing, re-imports ------------------------------------------------------------------------------

def test_one_bad_row_among_good_ones_changes_nothing(db):
    import_text(db, to_csv([row(key="OLD")]))
    before = table_counts(db)
    rows = [row(key="OLD", list_price="9.999,00"), *[row(key=f"NEW-{n}") for n in range(5)]]
    rows[3]["legal_bases"] = "SEL-108|SEL-999"
    result = plan(to_csv(rows))
    assert not result.ok and [(e.line, e.column) for e in result.errors] == [(5, "legal_bases")]
    assert result.rows == [] and result.new_offers == 0
    with pytest.raises(ServiceError):
        apply_import(result, None)
    db.session.commit()
    assert table_counts(db) == before
    assert offer(db, "OLD").list_price == Decimal("2450.00")


def test_apply_refuses_an_empty_plan(app_ctx):
    with pytest.raises(ServiceError):
        apply_import(offer_import.ImportPlan(), None)


def test_reimporting_the_same_file_changes_nothing(db):
    text = EXAMPLE.read_text(encoding="utf-8")
    import_text(db, text)
    before = table_counts(db)
    versions = dict(db.session.execute(select(Offer.key, Offer.version)).all())

    again = plan(text)
    assert (again.new_offers, again.updated_offers, again.unchanged_offers, again.new_suppliers) == (0, 0, 6, 0)
    summary = apply_import(again, None)
    db.session.commit()
    assert summary["new_offers"] == 0 and summary["unchanged_offers"] == 6 and summary["new_prices"] == 0
    after = table_counts(db)
    assert after["audit_events"] == before["audit_events"] + 1
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"}
    assert dict(db.session.execute(select(Offer.key, Offer.version)).all()) == versions


def test_reimport_with_a_changed_price_updates_and_keeps_the_history(db):
    import_text(db, to_csv([row(key="A"), row(key="B")]))
    changed = plan(to_csv([row(key="A", list_price="2.600,00", price_effective_from="01-01-2027"), row(key="B")]))
    assert (changed.new_offers, changed.updated_offers, changed.unchanged_offers) == (0, 1, 1)
    summary = apply_import(changed, None)
    db.session.commit()
    assert summary["updated_offers"] == 1 and summary["new_prices"] == 1
    db.session.expire_all()
    a = offer(db, "A")
    assert a.list_price == Decimal("2600.00") and a.price_effective_from == date(2027, 1, 1)
    assert [(p.price, p.effective_from) for p in a.prices] == [
        (Decimal("2600.00"), date(2027, 1, 1)), (Decimal("2450.00"), date(2026, 1, 1))]
    assert len(offer(db, "B").prices) == 1
    assert table_counts(db)["offers"] == 2


def test_a_changed_unit_alone_is_a_new_price(db):
    import_text(db, to_csv([row(key="A")]))
    summary = import_text(db, to_csv([row(key="A", price_unit="måned")]))
    assert summary["updated_offers"] == 1 and summary["new_prices"] == 1
    assert len(offer(db, "A").prices) == 2


def test_reimport_replaces_terms_and_updates_supplier_and_fields(db):
    import_text(db, to_csv([row(key="A"), row(key="B", supplier_cvr="22222222", supplier_name="Fonden")]))
    result = plan(to_csv([
        row(key="A", legal_bases="SEL-107", target_groups="", service_types="assessment", vacancies="0",
            supplier_name="Lindely A/S", approval_status="afventer", approved_on=""),
        row(key="B", supplier_cvr="11111111", supplier_name="Lindely A/S")]))
    assert (result.updated_offers, result.updated_suppliers, result.new_suppliers) == (2, 1, 0)
    summary = apply_import(result, None)
    db.session.commit()
    assert summary["new_prices"] == 0
    db.session.expire_all()
    a, b = offer(db, "A"), offer(db, "B")
    assert (a.legal_bases, a.target_groups, a.service_types) == (["SEL-107"], [], ["assessment"])
    assert a.vacancies == 0 and a.approval_status == "pending" and a.approved_on is None
    assert a.supplier.name == "Lindely A/S" and b.supplier.cvr == "11111111"
    assert table_counts(db)["suppliers"] == 2


# --- The command line ----------------------------------------------------------------------------------------

def test_cli_imports_a_file(db, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-offers", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "new offers 6" in result.stdout and "new suppliers 4" in result.stdout
    counts = table_counts(db)
    assert (counts["suppliers"], counts["offers"], counts["offer_prices"]) == (4, 6, 6)
    again = runner.invoke(args=["import-offers", str(EXAMPLE)])
    assert again.exit_code == 0 and "unchanged offers 6" in again.stdout
    assert table_counts(db)["offers"] == 6


def test_cli_with_errors_writes_nothing(db, app, tmp_path):
    path = tmp_path / "bad.csv"
    rows = three_rows(list_price="gratis")
    rows[2]["municipality_code"] = "000"
    path.write_text(to_csv(rows), encoding="utf-8")
    before = table_counts(db)
    result = app.test_cli_runner().invoke(args=["import-offers", str(path)])
    assert result.exit_code != 0
    assert "line 3, list_price:" in result.stderr and "gratis" in result.stderr
    assert "line 4, municipality_code:" in result.stderr
    assert "nothing was imported" in result.stderr
    assert table_counts(db) == before


def test_cli_refuses_other_encodings_and_missing_files(db, app, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(EXAMPLE.read_text(encoding="utf-8").encode("latin-1"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-offers", str(path)])
    assert result.exit_code != 0 and "UTF-8" in result.output
    assert runner.invoke(args=["import-offers", str(tmp_path / "missing.csv")]).exit_code != 0
    assert table_counts(db)["offers"] == 0
