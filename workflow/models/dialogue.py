"""The supplier dialogue (stage 3): the anonymised requirement, inquiries, replies and the choice."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.extensions import db
from workflow.models.cases import PurchaseCase
from workflow.models.offers import Offer
from workflow.models.types import Money, UTCDateTime, utcnow
from workflow.models.users import User


class Requirement(db.Model):
    """What suppliers are told about the need: anonymised, generated from the assessment, editable."""

    __tablename__ = "requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("purchase_cases.id"), unique=True)
    age_band: Mapped[str] = mapped_column(String(40))
    functional_summary: Mapped[str] = mapped_column(Text)
    support_need: Mapped[str | None] = mapped_column(String(20))
    goals: Mapped[str] = mapped_column(Text)
    services: Mapped[str] = mapped_column(Text)
    hours_per_week: Mapped[int | None] = mapped_column(Integer)
    desired_start: Mapped[date | None] = mapped_column(Date)
    special_conditions: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    case: Mapped[PurchaseCase] = relationship()

    __mapper_args__ = {"version_id_col": version}


class Inquiry(db.Model):
    """One shortlisted offer asked for a reply. The link's token is stored only as its hash."""

    __tablename__ = "inquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("purchase_cases.id"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email_to: Mapped[str] = mapped_column(String(254))
    deadline: Mapped[date] = mapped_column(Date)
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    unsealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the mail with the current link was handed to the mail server, after the inquiry was committed;
    # None: not (yet) sent, so the supplier has no working link and procurement sends it again.
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    citizen_preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # told they were not chosen

    case: Mapped[PurchaseCase] = relationship()
    offer: Mapped[Offer] = relationship()
    sent_by: Mapped[User] = relationship()
    replies: Mapped[list[Reply]] = relationship(back_populates="inquiry", order_by="Reply.number")
    notes: Mapped[list[NegotiationNote]] = relationship(back_populates="inquiry", order_by="NegotiationNote.id")

    __table_args__ = (UniqueConstraint("case_id", "offer_id", name="uq_inquiries_case_offer"),
                      Index("ix_inquiries_case", "case_id", "id"))

    @property
    def latest_reply(self) -> Reply | None:
        return self.replies[-1] if self.replies else None

    def is_open(self, today: date) -> bool:
        """The supplier may still reply or revise: not revoked, not declined, before the deadline."""
        return (self.revoked_at is None and self.declined_at is None and today <= self.deadline
                and self.case.stage == "dialogue")

    def replies_visible(self, today: date) -> bool:
        """Sealed replies stay closed until the deadline has passed or procurement opens them."""
        return not self.sealed or self.unsealed_at is not None or today > self.deadline


class Reply(db.Model):
    """One version of a supplier's reply; every revision is kept."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"))
    number: Mapped[int] = mapped_column(Integer)
    can_deliver: Mapped[bool] = mapped_column(Boolean)
    earliest_start: Mapped[date | None] = mapped_column(Date)
    additional_services: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # set when keyed in by hand
    channel: Mapped[str] = mapped_column(String(20), default="link")  # link, phone, e-mail, negotiation

    inquiry: Mapped[Inquiry] = relationship(back_populates="replies")
    entered_by: Mapped[User | None] = relationship()
    lines: Mapped[list[ReplyPriceLine]] = relationship(cascade="all, delete-orphan", order_by="ReplyPriceLine.id")

    __table_args__ = (UniqueConstraint("inquiry_id", "number", name="uq_replies_inquiry_number"),)

    @property
    def entered_by_hand(self) -> bool:
        return self.entered_by_id is not None


class ReplyPriceLine(db.Model):
    __tablename__ = "reply_price_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[Decimal] = mapped_column(Money)  # per unit period, e.g. 12 hours a week or 1 day a day


class NegotiationNote(db.Model):
    __tablename__ = "negotiation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    inquiry: Mapped[Inquiry] = relationship(back_populates="notes")
    author: Mapped[User] = relationship()


class Choice(db.Model):
    """The reply chosen for the case, and why."""

    __tablename__ = "choices"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("purchase_cases.id"), unique=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"))
    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id"))
    justification: Mapped[str | None] = mapped_column(Text)
    chosen_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    inquiry: Mapped[Inquiry] = relationship()
    reply: Mapped[Reply] = relationship()
    chosen_by: Mapped[User] = relationship()
