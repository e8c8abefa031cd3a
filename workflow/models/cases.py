"""The purchase case and its citizen: the aggregate every stage works on."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, and_, false, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow import cpr
from workflow.extensions import db
from workflow.legal_basis import BY_CODE as LEGAL_BASIS_BY_CODE
from workflow.models.types import Money, UTCDateTime, utcnow
from workflow.models.users import Unit, User
from workflow.process import Stage, task_stages
from workflow.roles import Role


class Citizen(db.Model):
    """The person the purchase is for. The CPR number is never shown in full without need.

    Once retention has anonymised the citizen (workflow/services/retention.py), `cpr` holds a marker that is no
    CPR number and `name` a placeholder: pages, PDFs and the API show "Anonymised" through `display_name` and
    `cpr_masked`, and there is no birth date or age any more.
    """

    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(primary_key=True)
    cpr: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    home_municipality: Mapped[str] = mapped_column(String(3))  # municipality code
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def anonymised(self) -> bool:
        return self.anonymised_at is not None

    @property
    def display_name(self) -> str:
        return gettext("Anonymised") if self.anonymised else self.name

    @property
    def cpr_masked(self) -> str:
        return gettext("Anonymised") if self.anonymised else cpr.masked(self.cpr)

    @property
    def birth_date(self) -> date | None:
        return None if self.anonymised else cpr.birth_date(self.cpr)

    def age_on(self, on: date) -> int | None:
        born = self.birth_date
        return None if born is None else cpr.age_on(born, on)


# What the case list filters or sorts by besides unit, stage and last change (see the unit indexes below).
_LIST_COLUMNS = ("legal_basis", "owner_id", "procurement_id", "economy_id", "acute", "desired_start")


class PurchaseCase(db.Model):
    __tablename__ = "purchase_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    legal_basis: Mapped[str] = mapped_column(String(10))
    target_group: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    procurement_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    economy_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acute: Mapped[bool] = mapped_column(Boolean, default=False)
    desired_start: Mapped[date | None] = mapped_column(Date)
    budget_frame: Mapped[Decimal | None] = mapped_column(Money)
    stage: Mapped[str] = mapped_column(String(20), default=Stage.NEEDS)
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_started_on: Mapped[date | None] = mapped_column(Date)   # the actual start of the placement
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    citizen: Mapped[Citizen] = relationship()
    unit: Mapped[Unit] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    procurement: Mapped[User | None] = relationship(foreign_keys=[procurement_id])
    economy: Mapped[User | None] = relationship(foreign_keys=[economy_id])
    comments: Mapped[list[CaseComment]] = relationship(back_populates="case", order_by="CaseComment.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # The lists filter by unit or person and sort by last change; these serve them from the index. The unit's
        # two also carry every other column the case list filters or sorts by, so that its counts and the ids of
        # a page, however deep, are read from the index alone (workflow/services/case_list.py).
        Index("ix_purchase_cases_unit_changed", "unit_id", "changed_at", "id", "stage", *_LIST_COLUMNS),
        Index("ix_purchase_cases_unit_stage_changed", "unit_id", "stage", "changed_at", "id", *_LIST_COLUMNS),
        Index("ix_purchase_cases_owner_stage", "owner_id", "stage", "changed_at", "id"),
        Index("ix_purchase_cases_procurement_stage", "procurement_id", "stage", "changed_at", "id"),
        Index("ix_purchase_cases_economy_stage", "economy_id", "stage", "changed_at", "id"),
        # The portfolio dashboard walks a unit's cases in the order of their ids (so that its look-ups in the
        # contracts, follow-ups and stays of each case come in order) and reads these columns from the index.
        Index("ix_purchase_cases_unit_started", "unit_id", "id", "delivery_started_on", "number"),
    )

    @property
    def stage_enum(self) -> Stage:
        return Stage(self.stage)

    @property
    def legal_basis_info(self):
        return LEGAL_BASIS_BY_CODE[self.legal_basis]

    @property
    def for_child(self) -> bool:
        return self.legal_basis_info.for_children

    @property
    def is_open(self) -> bool:
        return self.stage not in (Stage.CLOSED, Stage.CANCELLED)

    # --- Access by work-related need: the one place that says who may see a case. ---

    def can_view(self, user: User) -> bool:
        if user.role in (Role.CASEWORKER, Role.MANAGER):
            return self.unit_id == user.unit_id
        if user.role in (Role.PROCUREMENT, Role.ECONOMY):
            return user.id in (self.procurement_id, self.economy_id)
        return False

    @classmethod
    def visible_to(cls, user: User):
        """The same rule as can_view(), as a SQL condition for lists."""
        if user.role in (Role.CASEWORKER, Role.MANAGER):
            return cls.unit_id == user.unit_id
        if user.role in (Role.PROCUREMENT, Role.ECONOMY):
            return or_(cls.procurement_id == user.id, cls.economy_id == user.id)
        return false()

    @classmethod
    def tasks_of(cls, user: User):
        """Cases waiting for this user: their role has the current stage, and they are on the case."""
        stages = [str(stage) for stage in task_stages(Role(user.role))]
        if not stages:
            return false()
        on_case = {
            Role.CASEWORKER: cls.owner_id == user.id,
            Role.PROCUREMENT: cls.procurement_id == user.id,
            Role.ECONOMY: cls.economy_id == user.id,
            Role.MANAGER: cls.unit_id == user.unit_id,
        }.get(Role(user.role), false())
        return and_(cls.stage.in_(stages), on_case)

    def can_edit_needs(self, user: User) -> bool:
        return (self.stage == Stage.NEEDS and user.role == Role.CASEWORKER and self.can_view(user))

    def can_manage_team(self, user: User) -> bool:
        """Assign colleagues and change owner: the unit's caseworkers and manager."""
        return self.is_open and user.role in (Role.CASEWORKER, Role.MANAGER) and self.can_view(user)

    def can_edit_shortlist(self, user: User) -> bool:
        """The caseworkers of the unit and the assigned procurement colleague, in the market scan."""
        if self.stage != Stage.MARKET_SCAN or not self.can_view(user):
            return False
        return user.role == Role.CASEWORKER or user.id == self.procurement_id

    def can_comment(self, user: User) -> bool:
        return self.can_view(user)

    def can_show_cpr(self, user: User) -> bool:
        return self.can_view(user) and self.citizen.anonymised_at is None


class CaseComment(db.Model):
    __tablename__ = "case_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("purchase_cases.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[PurchaseCase] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()


class StageVisit(db.Model):
    """One stay of a case in one stage: how long each stage takes, for the dashboard."""

    __tablename__ = "stage_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("purchase_cases.id"))
    stage: Mapped[str] = mapped_column(String(20))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_stage_visits_case", "case_id", "id"),
                      # The portfolio's average stays: the stays of a case that ended in a period, from the index.
                      Index("ix_stage_visits_case_left", "case_id", "left_at", "stage", "entered_at"))
