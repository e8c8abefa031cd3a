"""Contract terms (stage 4) and their approval (stage 5): versions, price lines, approval history."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow import pricing
from workflow.extensions import db
from workflow.models.audit import make_append_only
from workflow.models.cases import PurchaseCase
from workflow.models.types import Money, UTCDateTime, utcnow
from workflow.models.users import User

STATUSES = ("draft", "submitted", "reviewed", "approved", "superseded")
PAYMENT_TERMS = ("advance", "arrears")


class FrozenContractError(RuntimeError):
    """Raised when code tries to change an approved contract version."""


class ContractVersion(db.Model):
    __tablename__ = "contract_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("purchase_cases.id"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # Parties
    acting_municipality: Mapped[str] = mapped_column(String(100))
    acting_ean: Mapped[str | None] = mapped_column(String(13))
    acting_contact: Mapped[str | None] = mapped_column(String(200))
    paying_municipality: Mapped[str] = mapped_column(String(100))
    paying_ean: Mapped[str | None] = mapped_column(String(13))
    supplier_name: Mapped[str] = mapped_column(String(200))
    supplier_cvr: Mapped[str] = mapped_column(String(8))
    supplier_ean: Mapped[str | None] = mapped_column(String(13))
    supplier_contact: Mapped[str | None] = mapped_column(String(300))
    offer_name: Mapped[str] = mapped_column(String(200))
    # The service
    legal_basis: Mapped[str] = mapped_column(String(10))
    primary_service: Mapped[str] = mapped_column(Text)
    further_services: Mapped[str | None] = mapped_column(Text)
    goals: Mapped[str | None] = mapped_column(Text)
    # Money and dates
    list_price_annual: Mapped[Decimal | None] = mapped_column(Money)
    price_regulation: Mapped[str] = mapped_column(String(200), default="Årlig regulering efter PL-indekset")
    payment_terms: Mapped[str] = mapped_column(String(20), default="arrears")
    payment_days: Mapped[int] = mapped_column(Integer, default=30)
    start_date: Mapped[date | None] = mapped_column(Date)
    duration_months: Mapped[int | None] = mapped_column(Integer)
    review_date: Mapped[date | None] = mapped_column(Date)
    notice_months: Mapped[int] = mapped_column(Integer, default=3)
    # Duties
    absence_rules: Mapped[str | None] = mapped_column(Text)
    documentation_duties: Mapped[str | None] = mapped_column(Text)
    data_processing: Mapped[str | None] = mapped_column(Text)
    framework_reference: Mapped[str | None] = mapped_column(String(200))
    # Who and when
    drafted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The archived summary, made once at approval
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    document_id: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)

    case: Mapped[PurchaseCase] = relationship()
    lines: Mapped[list[ContractPriceLine]] = relationship(back_populates="contract", cascade="all, delete-orphan",
                                                          order_by="ContractPriceLine.id")
    drafted_by: Mapped[User] = relationship(foreign_keys=[drafted_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("case_id", "number", name="uq_contract_versions_case_number"),
                      Index("ix_contract_versions_case_status", "case_id", "status"),
                      # The portfolio's figures and near dates read a unit's approved versions from the index alone.
                      Index("ix_contract_versions_portfolio", "case_id", "status", "number", "legal_basis",
                            "supplier_cvr", "list_price_annual", "start_date", "duration_months", "review_date",
                            "notice_months", "supplier_name", "id"))

    @property
    def frozen(self) -> bool:
        return self.status in ("approved", "superseded")

    @property
    def editable(self) -> bool:
        return self.status == "draft"

    @property
    def annual_cost(self) -> Decimal:
        return pricing.yearly_total(self.lines)

    @property
    def years(self) -> Decimal | None:
        if self.duration_months:
            return Decimal(self.duration_months) / 12
        if self.review_date and self.start_date and self.review_date > self.start_date:
            return (Decimal((self.review_date - self.start_date).days) / Decimal("365.25")).quantize(Decimal("0.01"))
        return None

    @property
    def total_value(self) -> Decimal | None:
        years = self.years
        return None if years is None else (self.annual_cost * years).quantize(pricing.ONE_ORE)

    @property
    def difference_from_list(self) -> Decimal | None:
        return None if self.list_price_annual is None else self.annual_cost - self.list_price_annual


class ContractPriceLine(db.Model):
    __tablename__ = "contract_price_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract_versions.id"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[Decimal] = mapped_column(Money)
    supplement: Mapped[bool] = mapped_column(Boolean, default=False)   # tillægsydelse / særydelse

    contract: Mapped[ContractVersion] = relationship(back_populates="lines")


class ApprovalEvent(db.Model):
    """Every request and decision on a contract version, never changed or removed."""

    __tablename__ = "approval_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract_versions.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # submitted, reviewed, approved, rejected
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    tier: Mapped[str | None] = mapped_column(String(80))
    annual_cost: Mapped[Decimal | None] = mapped_column(Money)

    actor: Mapped[User] = relationship()


make_append_only(ApprovalEvent)

# Only the status may move once approved (approved → superseded); everything else is frozen.
_MAY_CHANGE_WHEN_FROZEN = {"status", "version"}


@event.listens_for(ContractVersion, "before_update")
def _refuse_changes_to_frozen(mapper, connection, target: ContractVersion) -> None:
    state = db.inspect(target)
    before = state.attrs.status.history.deleted
    was_frozen = (before and before[0] in ("approved", "superseded")) or (not before and target.frozen)
    if not was_frozen:
        return
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()} - _MAY_CHANGE_WHEN_FROZEN
    if changed or (before and not (before[0] == "approved" and target.status == "superseded")):
        raise FrozenContractError(f"contract version {target.id} is approved and frozen: {sorted(changed)}")


@event.listens_for(ContractPriceLine, "before_insert")
@event.listens_for(ContractPriceLine, "before_update")
@event.listens_for(ContractPriceLine, "before_delete")
def _refuse_line_changes(mapper, connection, target: ContractPriceLine) -> None:
    # Ask the database, not the session: a line may be added by id alone, or moved to another version.
    contract_ids = {target.contract_id, *db.inspect(target).attrs.contract_id.history.deleted} - {None}
    if target.contract is not None and target.contract.id is not None:
        contract_ids.add(target.contract.id)
    if not contract_ids:
        return
    statuses = connection.execute(
        select(ContractVersion.status).where(ContractVersion.id.in_(contract_ids))).scalars().all()
    if any(status in ("approved", "superseded") for status in statuses):
        raise FrozenContractError("price lines of an approved contract version are frozen")
