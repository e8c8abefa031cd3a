"""Run-time settings: what exists, its default, and reading and changing it.

Later features read their rules from here (approval tiers, follow-up intervals,
retention), so an administrator can adapt them to the municipality's practice.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from workflow.extensions import db
from workflow.legal_basis import LEGAL_BASES
from workflow.models import Setting
from workflow.services import audit
from workflow.services.errors import ServiceError


@dataclass(frozen=True)
class Definition:
    key: str
    label: object
    help: object
    kind: str  # "int", "tiers" or "intervals"
    default: object
    minimum: int = 0
    maximum: int = 1000


def _default_intervals() -> dict:
    # Practice for placements: first follow-up within 3 months, then at least yearly.
    return {basis.code: {"first_months": 3, "then_months": 12} for basis in LEGAL_BASES}


DEFINITIONS: dict[str, Definition] = {d.key: d for d in (
    Definition(
        "approval_tiers", _l("Approval tiers"),
        _l("Who approves a contract, by its annual cost. The last tier has no upper limit."),
        "tiers",
        [{"name": "Teamleder", "limit": "500000.00"},
         {"name": "Afdelingsleder", "limit": "2000000.00"},
         {"name": "Direktør", "limit": None}],
    ),
    Definition(
        "followup_intervals", _l("Follow-up intervals"),
        _l("Months from the start of delivery to the first follow-up, and between later ones."),
        "intervals", _default_intervals(), 1, 60,
    ),
    Definition("followup_soon_days", _l("Follow-up soon due (days)"),
               _l("A follow-up counts as soon due this many days before its date."), "int", 14, 1, 90),
    Definition("offer_stale_months", _l("Offer data stale after (months)"),
               _l("Warn when an offer's data has not been updated for this long."), "int", 12, 1, 60),
    Definition("inquiry_reply_business_days", _l("Reply deadline for inquiries (business days)"),
               _l("Default deadline for suppliers' replies, in Danish business days."), "int", 10, 1, 60),
    Definition("weight_price", _l("Comparison weight: price"),
               _l("Points for the cheapest reply when replies are compared."), "int", 50, 0, 100),
    Definition("weight_quality", _l("Comparison weight: quality"),
               _l("Points for an approved offer with fresh data."), "int", 20, 0, 100),
    Definition("weight_distance", _l("Comparison weight: distance"),
               _l("Points for the nearest offer."), "int", 15, 0, 100),
    Definition("weight_preference", _l("Comparison weight: the citizen's preference"),
               _l("Points for the offer the citizen or family prefers."), "int", 15, 0, 100),
    Definition("eu_threshold_dkk", _l("EU light-regime threshold (DKK, total contract value)"),
               _l("Warn when a contract's total value passes this amount (EUR 750,000)."), "int", 5_595_000,
               100_000, 100_000_000),
    Definition("retention_years", _l("Retention after closure (years)"),
               _l("Citizen data of closed cases is anonymised this many years after closure."),
               "int", 5, 1, 100),
)}


def get(key: str):
    """The stored value of a setting, or its default."""
    definition = DEFINITIONS[key]
    row = db.session.get(Setting, key)
    return definition.default if row is None else row.value


def all_values() -> dict:
    rows = {row.key: row.value for row in db.session.scalars(db.select(Setting))}
    return {key: rows.get(key, d.default) for key, d in DEFINITIONS.items()}


def validate(key: str, value):
    """Return the value in its stored form, or raise ServiceError."""
    definition = DEFINITIONS[key]
    if definition.kind == "int":
        if not isinstance(value, int) or not definition.minimum <= value <= definition.maximum:
            raise ServiceError(_("%(label)s must be a whole number from %(min)d to %(max)d.",
                                 label=definition.label, min=definition.minimum, max=definition.maximum), key)
        return value
    if definition.kind == "intervals":
        clean = {}
        for basis in LEGAL_BASES:
            entry = value.get(basis.code, {})
            pair = {}
            for part in ("first_months", "then_months"):
                months = entry.get(part)
                if not isinstance(months, int) or not definition.minimum <= months <= definition.maximum:
                    raise ServiceError(_("Months must be whole numbers from %(min)d to %(max)d.",
                                         min=definition.minimum, max=definition.maximum), key)
                pair[part] = months
            clean[basis.code] = pair
        return clean
    if definition.kind == "tiers":
        return _validate_tiers(value)
    raise KeyError(definition.kind)


def _validate_tiers(tiers: list[dict]) -> list[dict]:
    clean, previous = [], Decimal(0)
    for index, tier in enumerate(tiers):
        name = (tier.get("name") or "").strip()
        limit = tier.get("limit")
        last = index == len(tiers) - 1
        if not name:
            raise ServiceError(_("Every tier needs a name."), "approval_tiers")
        if last and limit is not None:
            raise ServiceError(_("The last tier has no upper limit."), "approval_tiers")
        if not last:
            if limit is None:
                raise ServiceError(_("Every tier but the last needs an upper limit."), "approval_tiers")
            limit = Decimal(limit)
            if limit <= previous:
                raise ServiceError(_("Tier limits must rise from one tier to the next."), "approval_tiers")
            previous = limit
        clean.append({"name": name, "limit": None if limit is None else str(limit.quantize(Decimal("0.01")))})
    if not clean:
        raise ServiceError(_("At least one tier is needed."), "approval_tiers")
    return clean


def change(key: str, value) -> bool:
    """Store a new value (validated); audit before and after. Returns whether it changed."""
    value = validate(key, value)
    before = get(key)
    if before == value:
        return False
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key, value=value)
        db.session.add(row)
    else:
        row.value = value
    row.changed_by_id = current_user.id if current_user and current_user.is_authenticated else None
    audit.record("setting.changed", object_type="settings", details={"key": key, "before": before, "after": value})
    return True
