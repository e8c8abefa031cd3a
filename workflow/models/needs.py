"""The needs assessment and decision (stage 1), with its themes and goals."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.extensions import db
from workflow.models.cases import PurchaseCase
from workflow.models.types import UTCDateTime, utcnow
from workflow.models.users import User


class NeedsAssessment(db.Model):
    """One assessment of a case. A re-assessment (revisitation) starts a new one, pre-filled."""

    __tablename__ = "needs_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("purchase_cases.id"))
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    support_need: Mapped[str | None] = mapped_column(String(20))
    expected_duration: Mapped[str | None] = mapped_column(String(200))
    wishes: Mapped[str | None] = mapped_column(Text)
    special_conditions: Mapped[str | None] = mapped_column(Text)
    required_hours_per_week: Mapped[int | None] = mapped_column(Integer)
    consent_to_contact_suppliers: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_date: Mapped[date | None] = mapped_column(Date)
    child_investigation_date: Mapped[date | None] = mapped_column(Date)
    decision_date: Mapped[date | None] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    case: Mapped[PurchaseCase] = relationship()
    decided_by: Mapped[User | None] = relationship()
    themes: Mapped[list[ThemeAssessment]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="ThemeAssessment.id")
    goals: Mapped[list[Goal]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="Goal.position")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_needs_assessments_case", "case_id", "current"),)

    def theme(self, code: str) -> ThemeAssessment | None:
        return next((theme for theme in self.themes if theme.theme == code), None)

    @property
    def assessed_theme_count(self) -> int:
        return sum(1 for theme in self.themes if theme.level is not None)

    @property
    def decision_recorded(self) -> bool:
        return self.decision_date is not None and self.decided_by_id is not None


class ThemeAssessment(db.Model):
    __tablename__ = "theme_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("needs_assessments.id"), index=True)
    theme: Mapped[str] = mapped_column(String(40))
    level: Mapped[int | None] = mapped_column(Integer)  # 0–4; None = ikke vurderet
    narrative: Mapped[str | None] = mapped_column(Text)

    assessment: Mapped[NeedsAssessment] = relationship(back_populates="themes")


class Goal(db.Model):
    __tablename__ = "goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("needs_assessments.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    goal_type: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    measure: Mapped[str | None] = mapped_column(Text)

    assessment: Mapped[NeedsAssessment] = relationship(back_populates="goals")
