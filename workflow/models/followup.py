"""Stages 6 to 8: the start of delivery, scheduled follow-ups with their records, and the ending."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.extensions import db
from workflow.models.cases import PurchaseCase
from workflow.models.types import Money, UTCDateTime, utcnow
from workflow.models.users import User

KINDS = ("individual", "supplier_review")        # the citizen's follow-up; the yearly supplier review
OUTCOMES = ("continue", "change_within_frame", "reassess", "end")   # FSIII
GOAL_SCORES = ("achieved", "partly", "not_achieved")
QUALITY_RATINGS = ("good", "acceptable", "poor")


class FollowUp(db.Model):
    """One follow-up: scheduled with a due date, then recorded when it is held."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("purchase_cases.id"))
    kind: Mapped[str] = mapped_column(String(20), default="individual")
    due_date: Mapped[date] = mapped_column(Date)
    held_on: Mapped[date | None] = mapped_column(Date)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    # The citizen's side, recorded by the caseworker
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    participants: Mapped[str | None] = mapped_column(Text)
    functional_levels: Mapped[dict | None] = mapped_column(JSON)   # theme code -> level 0–4, only changed ones
    citizen_view: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(30))
    outcome_applied: Mapped[bool] = mapped_column(Boolean, default=False)
    end_date: Mapped[date | None] = mapped_column(Date)      # when the outcome is "end"
    end_reason: Mapped[str | None] = mapped_column(Text)
    # The supplier's side, recorded by procurement or economy
    supplier_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supplier_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reports_received: Mapped[bool | None] = mapped_column(Boolean)
    quality: Mapped[str | None] = mapped_column(String(20))
    deviations: Mapped[str | None] = mapped_column(Text)
    incidents: Mapped[str | None] = mapped_column(Text)
    # The money side: invoiced against what the contract says for the period
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    invoiced: Mapped[Decimal | None] = mapped_column(Money)
    contract_amount: Mapped[Decimal | None] = mapped_column(Money)
    version: Mapped[int] = mapped_column(default=1)

    case: Mapped[PurchaseCase] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    supplier_recorded_by: Mapped[User | None] = relationship(foreign_keys=[supplier_recorded_by_id])
    goal_scores: Mapped[list[GoalScore]] = relationship(back_populates="follow_up", cascade="all, delete-orphan",
                                                        order_by="GoalScore.position")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_follow_ups_case_kind", "case_id", "kind"),
                      Index("ix_follow_ups_open_due", "held_on", "cancelled_on", "due_date"),
                      # The portfolio's counts and next follow-ups: a case's follow-ups and their dates, from the index.
                      Index("ix_follow_ups_case_open", "case_id", "held_on", "cancelled_on", "due_date"))

    @property
    def is_open(self) -> bool:
        return self.held_on is None and self.cancelled_on is None

    @property
    def supplier_side_recorded(self) -> bool:
        return self.supplier_recorded_at is not None

    @property
    def difference(self) -> Decimal | None:
        """Invoiced minus what the contract says for the period (positive: invoiced more)."""
        if self.invoiced is None or self.contract_amount is None:
            return None
        return self.invoiced - self.contract_amount


class GoalScore(db.Model):
    """A goal's score at one follow-up; the goal's text is kept, so history survives re-assessment."""

    __tablename__ = "follow_up_goal_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"), index=True)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id"))
    position: Mapped[int] = mapped_column(default=0)
    goal_text: Mapped[str] = mapped_column(Text)
    score: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)

    follow_up: Mapped[FollowUp] = relationship(back_populates="goal_scores")


class CaseEnding(db.Model):
    """Stage 8: when and why the purchase ends, the notice and the final cost."""

    __tablename__ = "case_endings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("purchase_cases.id"), unique=True)
    end_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    notice_months: Mapped[int | None] = mapped_column()
    notice_date: Mapped[date | None] = mapped_column(Date)       # the last day notice can be given for end_date
    notice_given_on: Mapped[date | None] = mapped_column(Date)
    computed_cost: Mapped[Decimal | None] = mapped_column(Money)  # from the contract versions, start to end
    final_cost: Mapped[Decimal | None] = mapped_column(Money)     # as economy confirms it
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    case: Mapped[PurchaseCase] = relationship()
    recorded_by: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def complete(self) -> bool:
        return bool(self.end_date and (self.reason or "").strip() and self.final_cost is not None)


class ReminderSent(db.Model):
    """A reminder mailed to one person about one follow-up: the no-duplicates rule reads this."""

    __tablename__ = "follow_up_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(10))   # "soon" or "overdue", the state it reminded of
    sent_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("follow_up_id", "user_id", "state", "sent_on",
                                       name="uq_follow_up_reminders_once_a_day"),
                      Index("ix_follow_up_reminders_lookup", "follow_up_id", "user_id", "state"))
