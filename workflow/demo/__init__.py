"""Demo data that looks like a real municipality's: staff, citizens, suppliers and purchase cases.

Deterministic (seeded), so that screenshots and tests see the same data every time. Where each part lives:

- `people`: the demo units and staff (logins, password), citizens' names and CPR numbers.
- `casework`: a case's input and needs assessment, and the walk through stages 1–5 the way staff would.
- `cases`: `seed_cases()`, cases in every stage: stages 1–5 and cancelled, then the placements.
- `placements`: stages 6–8, bought, started and followed up through the services, dated backwards.
- `registry`: suppliers across the country with their offers.
- `bulk`: `bulk_cases()` writes many cases fast for benchmarks, with plain inserts.
"""
from workflow.demo.bulk import bulk_cases
from workflow.demo.cases import seed_cases
from workflow.demo.people import (
    DEMO_PASSWORD,
    DEMO_UNITS,
    DEMO_USERS,
    FIRST_NAMES,
    LAST_NAMES,
    MAIN_LOGINS,
    CprFactory,
    seed_staff,
)
from workflow.demo.placements import seed_placements
from workflow.demo.registry import seed_registry

__all__ = [
    "DEMO_PASSWORD", "DEMO_UNITS", "DEMO_USERS", "FIRST_NAMES", "LAST_NAMES", "MAIN_LOGINS", "CprFactory",
    "bulk_cases", "seed_cases", "seed_placements", "seed_registry", "seed_staff",
]
