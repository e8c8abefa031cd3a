"""The offer registry (Tilbudsportalen-like): suppliers, their offers, list prices; and shortlists."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.extensions import db
from workflow.models.cases import PurchaseCase
from workflow.models.types import Money, UTCDateTime, utcnow
from workflow.models.users import User

SUPPLIER_TYPES = ("kommunal", "regional", "privat", "selvejende")
PRICE_UNITS = ("døgn", "måned", "time", "engangsbeløb")
APPROVAL_STATUSES = ("approved", "pending", "not_approved")


class Supplier(db.Model):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    cvr: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    ean: Mapped[str | None] = mapped_column(String(13))
    supplier_type: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    offers: Mapped[list[Offer]] = relationship(back_populates="supplier", order_by="Offer.name")

    __mapper_args__ = {"version_id_col": version}

    @property
    def charges_vat(self) -> bool:
        """Private suppliers' prices carry VAT that the municipality gets back."""
        return self.supplier_type == "privat"


class Offer(db.Model):
    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)  # the registry's id: re-imports update by it
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    municipality: Mapped[str] = mapped_column(String(3))
    places: Mapped[int] = mapped_column(Integer, default=0)
    vacancies: Mapped[int] = mapped_column(Integer, default=0)
    list_price: Mapped[Decimal] = mapped_column(Money)
    price_unit: Mapped[str] = mapped_column(String(20))
    price_effective_from: Mapped[date] = mapped_column(Date)
    approval_status: Mapped[str] = mapped_column(String(20))
    approved_on: Mapped[date | None] = mapped_column(Date)
    framework_agreement: Mapped[bool] = mapped_column(Boolean, default=False)
    framework_name: Mapped[str | None] = mapped_column(String(200))
    data_updated_on: Mapped[date] = mapped_column(Date)
    quality_note: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(default=1)

    supplier: Mapped[Supplier] = relationship(back_populates="offers")
    prices: Mapped[list[OfferPrice]] = relationship(back_populates="offer", order_by="OfferPrice.effective_from.desc()",
                                                    cascade="all, delete-orphan")
    terms: Mapped[list[OfferTerm]] = relationship(cascade="all, delete-orphan", order_by="OfferTerm.code")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_offers_active_municipality", "active", "municipality"),)

    def codes(self, kind: str) -> list[str]:
        return [term.code for term in self.terms if term.kind == kind]

    @property
    def legal_bases(self) -> list[str]:
        return self.codes("legal_basis")

    @property
    def target_groups(self) -> list[str]:
        return self.codes("target_group")

    @property
    def service_types(self) -> list[str]:
        return self.codes("service_type")

    def set_codes(self, kind: str, codes: list[str]) -> bool:
        """Replace the codes of one kind; returns whether anything changed."""
        wanted = sorted(set(codes))
        if self.codes(kind) == wanted:
            return False
        self.terms = [term for term in self.terms if term.kind != kind] + [
            OfferTerm(kind=kind, code=code) for code in wanted]
        return True


class OfferTerm(db.Model):
    """One legal basis, target group or service type of an offer: what the market scan filters on."""

    __tablename__ = "offer_terms"

    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # legal_basis, target_group, service_type
    code: Mapped[str] = mapped_column(String(40), primary_key=True)

    __table_args__ = (Index("ix_offer_terms_kind_code", "kind", "code", "offer_id"),)


class OfferPrice(db.Model):
    """The list price history: each price with the date it took effect."""

    __tablename__ = "offer_prices"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    price: Mapped[Decimal] = mapped_column(Money)
    unit: Mapped[str] = mapped_column(String(20))
    effective_from: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    offer: Mapped[Offer] = relationship(back_populates="prices")


class OfferImport(db.Model):
    """An uploaded registry file between preview and confirmation, and the record of it afterwards."""

    __tablename__ = "offer_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="preview")  # preview, applied, rejected
    summary: Mapped[dict] = mapped_column(JSON, default=dict)

    uploaded_by: Mapped[User] = relationship()


class ShortlistEntry(db.Model):
    __tablename__ = "shortlist_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("purchase_cases.id"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    score: Mapped[int | None] = mapped_column(Integer)   # the market scan's score when it was shortlisted
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[PurchaseCase] = relationship()
    offer: Mapped[Offer] = relationship()
    added_by: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("case_id", "offer_id", name="uq_shortlist_case_offer"),
                      Index("ix_shortlist_case", "case_id", "id"))
