"""The case lists: my tasks, my cases, my unit's cases, with filters, sorting and pages.

Each page costs three queries whatever the number of cases: the rows, the total, the counts
per stage. A deep page costs about what the first does: the unit's indexes carry every column the
list filters and sorts by (models/cases.py), so the counts and the ids of a page are read from the
index alone, and only the page's own rows from the table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from workflow.extensions import db
from workflow.models import Citizen, PurchaseCase, User
from workflow.process import ACTIVE_STAGES, Stage

PAGE_SIZE = 25
SCOPES = ("tasks", "mine", "unit")
STATUSES = ("active", "closed", "all")
SORTS = {
    "changed": (PurchaseCase.changed_at.desc(), PurchaseCase.id.desc()),
    "number": (PurchaseCase.id.desc(),),
    "oldest": (PurchaseCase.id.asc(),),
    "start": (PurchaseCase.desired_start.asc(), PurchaseCase.id.asc()),
}


@dataclass
class CaseFilters:
    scope: str = "tasks"
    status: str = "active"
    stage: str = ""
    legal_basis: str = ""
    owner_id: int | None = None
    acute: bool = False
    q: str = ""
    sort: str = "changed"
    page: int = 1

    def normalised(self) -> CaseFilters:
        self.scope = self.scope if self.scope in SCOPES else "tasks"
        self.status = self.status if self.status in STATUSES else "active"
        self.stage = self.stage if self.stage in {s.value for s in Stage} else ""
        self.sort = self.sort if self.sort in SORTS else "changed"
        self.page = max(1, min(self.page or 1, 100_000))
        self.q = (self.q or "").strip()[:100]
        return self


@dataclass
class CasePage:
    rows: list[PurchaseCase]
    total: int
    page: int
    pages: int
    stage_counts: dict[str, int] = field(default_factory=dict)


def _scope_condition(user: User, scope: str):
    if scope == "tasks":
        return PurchaseCase.tasks_of(user)
    if scope == "mine":
        return or_(PurchaseCase.owner_id == user.id, PurchaseCase.procurement_id == user.id,
                   PurchaseCase.economy_id == user.id)
    return PurchaseCase.visible_to(user)


def _status_condition(status: str):
    active = [str(stage) for stage in ACTIVE_STAGES]
    if status == "active":
        return PurchaseCase.stage.in_(active)
    if status == "closed":
        return PurchaseCase.stage.not_in(active)
    return None


def list_cases(user: User, filters: CaseFilters, page_size: int = PAGE_SIZE) -> CasePage:
    filters.normalised()
    base = [PurchaseCase.visible_to(user), _scope_condition(user, filters.scope)]
    status = _status_condition(filters.status)
    if status is not None and not filters.stage:
        base.append(status)
    if filters.legal_basis:
        base.append(PurchaseCase.legal_basis == filters.legal_basis)
    if filters.owner_id:
        base.append(PurchaseCase.owner_id == filters.owner_id)
    if filters.acute:
        base.append(PurchaseCase.acute.is_(True))
    search = None
    if filters.q:
        if filters.q.upper().startswith("SK-"):
            search = PurchaseCase.number == filters.q.upper()
        else:
            pattern = "%" + filters.q.replace("\\", "").replace("%", "").replace("_", "") + "%"
            search = PurchaseCase.citizen_id.in_(select(Citizen.id).where(Citizen.name.ilike(pattern)))
        base.append(search)

    counted = select(PurchaseCase.stage, func.count()).where(*base).group_by(PurchaseCase.stage)
    stage_counts = dict(db.session.execute(counted).all())

    conditions = list(base)
    if filters.stage:
        conditions.append(PurchaseCase.stage == filters.stage)
    total = (stage_counts.get(filters.stage, 0) if filters.stage else sum(stage_counts.values()))
    pages = max(1, -(-total // page_size))
    page = min(filters.page, pages)
    order = SORTS[filters.sort]
    # The page's ids are chosen from the index alone (OFFSET skips index entries, not table rows); only
    # those rows are then read whole, in the same order.
    page_ids = (select(PurchaseCase.id).where(*conditions).order_by(*order)
                .limit(page_size).offset((page - 1) * page_size))
    rows = db.session.scalars(
        select(PurchaseCase).where(PurchaseCase.id.in_(page_ids))
        .options(selectinload(PurchaseCase.citizen), selectinload(PurchaseCase.owner))
        .order_by(*order)
    ).all()
    return CasePage(rows=list(rows), total=total, page=page, pages=pages, stage_counts=stage_counts)
