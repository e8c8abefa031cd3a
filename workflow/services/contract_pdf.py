"""The contract summary PDF: plain data from the case, then WeasyPrint.

The data is built first as plain values (no ORM objects reach the template), hashed, and the
hash printed in the footer, so a reader can tell two summaries of the same terms apart.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date

from flask_babel import force_locale

from workflow import pricing
from workflow.i18n import (
    day,
    legal_basis_label,
    level_label,
    money,
    price_unit_label,
    support_need_label,
    timestamp,
)
from workflow.models import ContractVersion, PurchaseCase
from workflow.pdf import render_pdf
from workflow.services import cases, contracts, dialogue, settings, shortlist
from workflow.vum import THEME_LABELS


def _followup_plan(case: PurchaseCase, contract: ContractVersion) -> dict:
    interval = settings.get("followup_intervals").get(case.legal_basis, {"first_months": 3, "then_months": 12})
    return {"first_months": interval["first_months"], "then_months": interval["then_months"],
            "start": day(contract.start_date)}


def summary_data(case: PurchaseCase, contract: ContractVersion, draft: bool) -> dict:
    """Everything the summary shows, as strings and lists."""
    assessment = cases.current_assessment(case)
    chosen = dialogue.choice(case)
    rows = dialogue.compare(case, date.today()) if chosen or dialogue.inquiries(case) else []
    events = contracts.history([contract.id])
    data = {
        "draft": draft,
        "municipality": contract.acting_municipality,
        "case_number": case.number,
        "document_id": contract.document_id or f"UDKAST-{case.number}-{contract.number}",
        "version": contract.number,
        "citizen": {"name": case.citizen.display_name, "cpr": case.citizen.cpr_masked},
        "parties": {
            "acting": [contract.acting_municipality, contract.acting_ean or "", contract.acting_contact or ""],
            "paying": [contract.paying_municipality, contract.paying_ean or ""],
            "supplier": [contract.supplier_name, f"CVR {contract.supplier_cvr}",
                         f"EAN {contract.supplier_ean}" if contract.supplier_ean else "",
                         contract.supplier_contact or ""],
        },
        "legal_basis": legal_basis_label(contract.legal_basis),
        "offer": contract.offer_name,
        "primary_service": contract.primary_service,
        "further_services": contract.further_services or "",
        "lines": [{"description": line.description, "unit": price_unit_label(line.unit),
                   "unit_price": money(line.unit_price), "quantity": f"{line.quantity.normalize()}",
                   "yearly": money(pricing.yearly(line.unit_price, line.unit, line.quantity)),
                   "supplement": line.supplement} for line in contract.lines],
        "annual_cost": money(contract.annual_cost),
        "total_value": money(contract.total_value) if contract.total_value is not None else "–",
        "list_price_annual": money(contract.list_price_annual),
        "difference_from_list": money(contract.difference_from_list) if contract.difference_from_list is not None
        else "–",
        "eu_warning": contracts.eu_threshold_passed(contract),
        "tier": contracts.tier_for(contract.annual_cost),
        "price_regulation": contract.price_regulation,
        "payment": {"terms": contract.payment_terms, "days": contract.payment_days},
        "start_date": day(contract.start_date),
        "duration_months": contract.duration_months,
        "review_date": day(contract.review_date) if contract.review_date else "",
        "notice_months": contract.notice_months,
        "absence_rules": contract.absence_rules or "",
        "documentation_duties": contract.documentation_duties or "",
        "data_processing": contract.data_processing or "",
        "framework_reference": contract.framework_reference or "",
        # The goals as agreed in this version of the terms (drafted from the needs assessment).
        "goals": [text.strip() for text in (contract.goals or "").splitlines() if text.strip()],
        "followup": _followup_plan(case, contract),
        "needs": {
            "themes": [{"theme": str(THEME_LABELS[t.theme]), "level": level_label(t.level)}
                       for t in assessment.themes if t.level is not None],
            "support_need": support_need_label(assessment.support_need) if assessment.support_need else "–",
            "decision": day(assessment.decision_date) if assessment.decision_date else "–",
        },
        "considered": [{"offer": e.offer.name, "supplier": e.offer.supplier.name,
                        "score": e.score if e.score is not None else "–", "note": e.note or ""}
                       for e in shortlist.entries(case)],
        "replies": [{"offer": row.inquiry.offer.name,
                     "annual_cost": money(row.annual_cost) if row.annual_cost is not None else "–",
                     "score": row.score if row.passes else "–", "chosen": bool(chosen and chosen.inquiry_id ==
                                                                                row.inquiry.id)} for row in rows],
        "justification": (chosen.justification or "") if chosen else "",
        "approvals": [{"when": timestamp(e.occurred_at), "who": e.actor.full_name,
                       "action": e.action, "reason": e.reason or "", "tier": e.tier or ""} for e in events],
    }
    data["content_sha256"] = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return data


def render(case: PurchaseCase, contract: ContractVersion, draft: bool) -> bytes:
    """The Danish A4 summary; drafts carry an UDKAST watermark."""
    with force_locale("da"):
        data = summary_data(case, contract, draft)
        return render_pdf("pdf/contract.html", d=data)
