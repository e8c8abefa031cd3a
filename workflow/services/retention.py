"""Retention: the citizen data of cases closed longer ago than the retention period is anonymised.

Retention counts from a case's closure (DOMAIN.md, Rigsarkivet's rules): `PurchaseCase.closed_at`, which
services/transitions.py sets when a case is closed after its ending or cancelled. A citizen is anonymised once
every case of theirs was closed more than `retention_years` (a setting) ago. One case still open, or closed more
recently, keeps the citizen and all their cases as they are: that case's caseworkers still need the history.

What anonymising changes, and why:
- The citizen: the CPR number becomes a marker that can never parse as one ("X" and the id: unique, as the
  column is), the name a placeholder, and `anonymised_at` is set; pages, PDFs and the API then show "Anonymised"
  and no birth date or age. The home municipality stays: one of 98, a statistic.
- Free text written about the citizen, in every case of theirs, is replaced by REDACTED_TEXT (see FREE_TEXT;
  empty text stays empty, so one can still tell that nothing was written). Free text can hold anything – a
  relative's name, an address, a diagnosis – so none of it is kept, however it was meant.
- The anonymised requirement sent to suppliers loses its texts too. It was refused if it held the citizen's name
  or CPR number, but that check cannot prove a text free of personal data (an address, a sibling's name, a rare
  diagnosis next to the age band), and the suppliers have their own copy anyway. Its age band, support need,
  services, hours and desired start stay.
- The contract versions' goals (copied from the needs assessment: about the citizen) are redacted, and the
  archived contract summary PDF, which names the citizen, is made again from the anonymised data with the same
  document id; the old and new SHA-256 go into the audit event. This is the one change ever made to an approved
  version, past the ORM's freeze on purpose. The rest of the terms – parties, services, price lines, dates,
  notice, payment – is the municipality's contract with the supplier and stays.
- Kept: every amount, price line, date, stage and stage visit, legal basis, target group, functional level, goal
  type and score, outcome, quality rating, invoiced amount, the suppliers' replies (written to the anonymised
  requirement, about their service) and who did what when.
- Never touched: audit_events, access_log and approval_events are append-only (the database refuses changes).
  Free text inside them (before/after values in the audit trail, rejection reasons) stays there; the case page
  of an anonymised citizen no longer shows it.
- The follow-up report PDF is not stored (it is made on each download), so it shows the anonymised data.

Each citizen is anonymised in a transaction of its own, with an audit event for the citizen and one per case
(what was changed, counted; no personal data). Running again finds nothing left to do.
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import flag_modified

from workflow import clock
from workflow.extensions import db
from workflow.models import (
    CaseComment,
    CaseEnding,
    Choice,
    Citizen,
    ContractVersion,
    FollowUp,
    Goal,
    GoalScore,
    Inquiry,
    NeedsAssessment,
    NegotiationNote,
    PurchaseCase,
    Requirement,
    ShortlistEntry,
    ThemeAssessment,
)
from workflow.models.types import utcnow
from workflow.process import Stage
from workflow.services import audit, settings

log = logging.getLogger(__name__)

REDACTED_TEXT = "[anonymiseret]"     # stored in place of free text (the data is Danish, like the PDFs)
ANONYMISED_NAME = "Anonymiseret"     # the citizen's name column; pages show Citizen.display_name
CPR_MARKER = "X"                     # a CPR number is digits only: "X" and nine digits never parses as one
CLOSED_STAGES = (Stage.CLOSED, Stage.CANCELLED)
PDF_KEY = "contract_versions.pdf"

# The free-text columns that may hold personal data about the citizen, model by model. Every other column of
# the case's models is a code, a number, a date, a flag, a reference or text about the service bought.
FREE_TEXT: tuple[tuple[type, tuple[str, ...]], ...] = (
    (PurchaseCase, ("cancel_reason",)),
    (CaseComment, ("body",)),
    (NeedsAssessment, ("expected_duration", "wishes", "special_conditions")),
    (ThemeAssessment, ("narrative",)),
    (Goal, ("text", "measure")),
    (ShortlistEntry, ("note",)),
    (Requirement, ("functional_summary", "goals", "special_conditions")),
    (NegotiationNote, ("text",)),
    (Choice, ("justification",)),
    (FollowUp, ("participants", "citizen_view", "notes", "end_reason", "deviations", "incidents")),
    (GoalScore, ("goal_text", "note")),
    (CaseEnding, ("reason",)),
    (ContractVersion, ("goals",)),   # frozen once approved: changed by a plain UPDATE, see _redact_contracts
)
# Rows that reach their case through a parent row.
_PARENT = {
    ThemeAssessment: (NeedsAssessment, ThemeAssessment.assessment_id),
    Goal: (NeedsAssessment, Goal.assessment_id),
    NegotiationNote: (Inquiry, NegotiationNote.inquiry_id),
    GoalScore: (FollowUp, GoalScore.follow_up_id),
}


@dataclass
class CaseResult:
    case_id: int
    number: str
    closed_at: datetime
    counts: Counter = field(default_factory=Counter)    # "table.column" -> values redacted (or to be)
    pdfs: list[dict] = field(default_factory=list)      # archived summaries made again: version, SHA-256 before/after

    @property
    def texts(self) -> int:
        return sum(count for key, count in self.counts.items() if key != PDF_KEY)


@dataclass
class CitizenResult:
    citizen_id: int
    cases: list[CaseResult] = field(default_factory=list)
    error: str | None = None     # the kind of failure; nothing of this citizen's was changed


@dataclass
class RetentionReport:
    years: int
    cutoff: datetime
    dry_run: bool
    citizens: list[CitizenResult] = field(default_factory=list)

    @property
    def done(self) -> list[CitizenResult]:
        return [citizen for citizen in self.citizens if citizen.error is None]

    @property
    def failed(self) -> list[CitizenResult]:
        return [citizen for citizen in self.citizens if citizen.error is not None]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def cases(self) -> list[CaseResult]:
        return [case for citizen in self.done for case in citizen.cases]

    @property
    def totals(self) -> Counter:
        total: Counter = Counter()
        for case in self.cases:
            total.update(case.counts)
        return total


def cutoff(now: datetime, years: int) -> datetime:
    """The moment `years` before `now` on the Copenhagen calendar: cases closed at or before it are due."""
    local = now.astimezone(clock.COPENHAGEN)
    day = clock.add_months(local.date(), -12 * years)   # 29 February goes to the 28th
    return datetime.combine(day, local.time(), clock.COPENHAGEN).astimezone(UTC)


def _not_due(limit: datetime):
    """A case that keeps its citizen: open, closed without a known moment, or closed after the limit."""
    return or_(PurchaseCase.stage.not_in([str(stage) for stage in CLOSED_STAGES]), PurchaseCase.closed_at.is_(None),
               PurchaseCase.closed_at > limit)


def due_citizen_ids(limit: datetime) -> list[int]:
    """Citizens not yet anonymised who have cases, all of them closed at or before `limit`."""
    has_case = select(PurchaseCase.id).where(PurchaseCase.citizen_id == Citizen.id).exists()
    keeps = select(PurchaseCase.id).where(PurchaseCase.citizen_id == Citizen.id, _not_due(limit)).exists()
    return list(db.session.scalars(
        select(Citizen.id).where(Citizen.anonymised_at.is_(None), has_case, ~keeps).order_by(Citizen.id)))


def apply_retention(now: datetime | None = None, *, dry_run: bool = False) -> RetentionReport:
    """Anonymise every citizen whose cases were all closed longer ago than the retention period.

    One transaction per citizen: a failure (say, the PDF cannot be made) leaves that citizen as they were, is
    reported, and the next run tries again; the others are still done. `dry_run` counts what would change and
    changes nothing."""
    now = now or utcnow()
    years = settings.get("retention_years")
    report = RetentionReport(years=years, cutoff=cutoff(now, years), dry_run=dry_run)
    for citizen_id in due_citizen_ids(report.cutoff):
        try:
            result = anonymise_citizen(citizen_id, report, now)
        except Exception as error:  # noqa: BLE001 - one citizen's failure must not stop the others; reported below
            db.session.rollback()
            # Only the id and the kind of error: a message could quote the data being anonymised.
            log.error("retention: citizen %s not anonymised (%s)", citizen_id, type(error).__name__)
            report.citizens.append(CitizenResult(citizen_id, error=type(error).__name__))
            continue
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        if result is not None:
            report.citizens.append(result)
    return report


def anonymise_citizen(citizen_id: int, report: RetentionReport, now: datetime) -> CitizenResult | None:
    """Anonymise one citizen and their cases in the current transaction (or only count, in a dry run).

    None when the citizen is no longer due: a case was opened or reopened since they were selected."""
    query = select(Citizen).where(Citizen.id == citizen_id)
    citizen = db.session.scalar(query if report.dry_run else query.with_for_update())
    cases = list(db.session.scalars(select(PurchaseCase).where(PurchaseCase.citizen_id == citizen_id)
                                    .order_by(PurchaseCase.id)))
    if citizen is None or citizen.anonymised or not cases or any(
            case.stage not in CLOSED_STAGES or case.closed_at is None or case.closed_at > report.cutoff
            for case in cases):
        return None
    results = {case.id: CaseResult(case.id, case.number, case.closed_at) for case in cases}
    apply = not report.dry_run
    _redact_texts(results, apply)
    _redact_contracts(results, apply)
    if apply:
        citizen.cpr, citizen.name, citizen.anonymised_at = f"{CPR_MARKER}{citizen.id:09d}", ANONYMISED_NAME, now
        db.session.flush()
        _remake_summaries(cases, results)
        _record(citizen, cases, results, report)
    return CitizenResult(citizen_id, list(results.values()))


def _rows(model, case_ids):
    """(row, case id) of a model's rows in these cases."""
    if model is PurchaseCase:
        return select(PurchaseCase, PurchaseCase.id).where(PurchaseCase.id.in_(case_ids))
    if model in _PARENT:
        parent, key = _PARENT[model]
        return select(model, parent.case_id).join(parent, key == parent.id).where(parent.case_id.in_(case_ids))
    return select(model, model.case_id).where(model.case_id.in_(case_ids))


def _needs_redaction(value) -> bool:
    return bool(value) and value != REDACTED_TEXT


def _redact_texts(results: dict[int, CaseResult], apply: bool) -> None:
    for model, columns in FREE_TEXT:
        if model is ContractVersion:
            continue
        for row, case_id in db.session.execute(_rows(model, list(results))).all():
            redacted = [column for column in columns if _needs_redaction(getattr(row, column))]
            results[case_id].counts.update(f"{model.__tablename__}.{column}" for column in redacted)
            if not apply or not redacted:
                continue
            for column in redacted:
                setattr(row, column, REDACTED_TEXT)
            if model is PurchaseCase:
                # Retention is not casework: the case's last change stays the caseworkers' (no onupdate).
                flag_modified(row, "changed_at")


def _redact_contracts(results: dict[int, CaseResult], apply: bool) -> None:
    """The goals of every contract version, and counting the archived summaries to be made again.

    Approved versions are frozen by an ORM rule that knows no exception, so this is a plain UPDATE of the goals
    column only; nothing else of an approved version is ever changed."""
    for version in db.session.scalars(select(ContractVersion).where(ContractVersion.case_id.in_(list(results)))):
        counts = results[version.case_id].counts
        if version.pdf is not None:
            counts[PDF_KEY] += 1
        if _needs_redaction(version.goals):
            counts["contract_versions.goals"] += 1
            if apply:
                db.session.flush()
                db.session.execute(update(ContractVersion.__table__).where(ContractVersion.id == version.id)
                                   .values(goals=REDACTED_TEXT))
                db.session.expire(version)


def _remake_summaries(cases: list[PurchaseCase], results: dict[int, CaseResult]) -> None:
    """Each archived contract summary, made again from the anonymised data (same document id, new hash)."""
    from workflow.services import contract_pdf  # the PDF layer imports the services this module sits beside

    for case in cases:
        versions = db.session.scalars(select(ContractVersion).where(
            ContractVersion.case_id == case.id, ContractVersion.pdf.is_not(None)).order_by(ContractVersion.number))
        for version in versions:
            body = contract_pdf.render(case, version, draft=False)
            digest = hashlib.sha256(body).hexdigest()
            results[case.id].pdfs.append({"version": version.number, "sha256_before": version.pdf_sha256,
                                          "sha256_after": digest})
            db.session.execute(update(ContractVersion.__table__).where(ContractVersion.id == version.id)
                               .values(pdf=body, pdf_sha256=digest))
            db.session.expire(version)


def _record(citizen: Citizen, cases: list[PurchaseCase], results: dict[int, CaseResult],
            report: RetentionReport) -> None:
    """The audit events: one per case (on its history) and one for the citizen. Counts and hashes only."""
    basis = {"retention_years": report.years, "closed_before": report.cutoff.isoformat()}
    for case in cases:
        result = results[case.id]
        audit.record("case.anonymised", case, {**basis, "closed_at": case.closed_at.isoformat(),
                                               "redacted": dict(sorted(result.counts.items())),
                                               "contract_pdfs": result.pdfs}, actor=None)
    audit.record("citizen.anonymised", citizen, {**basis, "cases": [case.number for case in cases],
                                                 "redacted": sum(result.texts for result in results.values())},
                 actor=None)
