"""Rows of an offer registry CSV file, as the import reads them.

`row` is a good row (every column valid) with some values changed; `to_csv` writes rows as the semicolon-
separated file the registry exports.
"""
from __future__ import annotations

import csv
import io

from workflow.services.offer_import import COLUMNS

GOOD = {
    "key": "TP-1", "supplier_cvr": "11111111", "supplier_name": "Lindely ApS", "supplier_ean": "5790001234567",
    "supplier_type": "privat", "offer_name": "Lindely Botilbud", "address": "Lindevej 4, 8000 Aarhus C",
    "municipality_code": "751", "legal_bases": "SEL-108|SEL-85", "target_groups": "autism",
    "service_types": "residence|training", "places": "24", "vacancies": "2", "list_price": "2.450,00",
    "price_unit": "døgn", "price_effective_from": "01-01-2026", "approval_status": "godkendt",
    "approved_on": "15-03-2019", "framework_agreement": "ja", "framework_name": "Rammeaftale Midt",
    "data_updated_on": "2026-11-01", "quality_note": "Ingen anmærkninger",
}


def row(**changes) -> dict:
    """A row the import takes as it is (TP-1 of Lindely ApS), with some values changed."""
    return {**GOOD, **changes}


def to_csv(rows: list[dict], delimiter: str = ";", columns=COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for values in rows:
        writer.writerow([values.get(name, "") for name in columns])
    return out.getvalue()
