"""What the case pages show, assembled from the models in a fixed number of queries."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from workflow import clock
from workflow.extensions import db
from workflow.i18n import legal_basis_label
from workflow.models import AuditEvent, CaseComment, FollowUp, NeedsAssessment, PurchaseCase, Role, User
from workflow.municipalities import BY_CODE as MUNICIPALITIES
from workflow.process import PROCESS_STAGES, STAGES, Stage
from workflow.services import followup, needs, settings, shortlist, transitions
from workflow.vocabulary import TARGET_GROUP_LABELS
from workflow.vum import LEVEL_LABELS, SUPPORT_NEED_LABELS, THEME_LABELS, THEMES


def caseworkers_of(unit_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.unit_id == unit_id, User.role == Role.CASEWORKER, User.active.is_(True))
        .order_by(User.full_name)))


def _people(role: Role) -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role == role, User.active.is_(True)).order_by(User.full_name)))


def fill_team_choices(form, unit_id: int, with_owner: bool) -> None:
    blank = [("", _("Nobody yet"))]
    form.procurement_id.choices = blank + [(u.id, u.full_name) for u in _people(Role.PROCUREMENT)]
    form.economy_id.choices = blank + [(u.id, u.full_name) for u in _people(Role.ECONOMY)]
    if with_owner:
        form.owner_id.choices = [(u.id, u.full_name) for u in caseworkers_of(unit_id)]


# --- The needs form ---

def needs_form(case: PurchaseCase, assessment: NeedsAssessment):
    from workflow.cases.forms import NeedsForm

    deciders = db.session.scalars(select(User).where(
        User.unit_id == case.unit_id, User.role.in_([Role.CASEWORKER, Role.MANAGER]), User.active.is_(True))
        .order_by(User.full_name)).all()
    data = None
    if request.method != "POST":
        data = {
            "version": assessment.version, "support_need": assessment.support_need or "",
            "expected_duration": assessment.expected_duration, "wishes": assessment.wishes,
            "special_conditions": assessment.special_conditions,
            "required_hours_per_week": assessment.required_hours_per_week,
            "consent_to_contact_suppliers": assessment.consent_to_contact_suppliers,
            "consent_date": assessment.consent_date, "child_investigation_date": assessment.child_investigation_date,
            "decision_date": assessment.decision_date, "decided_by_id": assessment.decided_by_id,
            "themes": [_theme_data(assessment, code) for code, _label, _group in THEMES],
            "goals": [{"goal_type": g.goal_type, "text": g.text, "measure": g.measure} for g in assessment.goals]
            + [{"goal_type": "develop", "text": "", "measure": ""}],
        }
    form = NeedsForm(data=data) if data is not None else NeedsForm()
    form.decided_by_id.choices = [("", _("Not decided yet"))] + [(u.id, u.full_name) for u in deciders]
    form.theme_labels = {code: (label, group) for code, label, group in THEMES}
    return form


def _theme_data(assessment: NeedsAssessment, code: str) -> dict:
    theme = assessment.theme(code)
    return {"code": code, "level": theme.level if theme else None, "narrative": theme.narrative if theme else ""}


def needs_input(form) -> needs.AssessmentInput:
    return needs.AssessmentInput(
        support_need=form.support_need.data or None,
        expected_duration=form.expected_duration.data or "",
        wishes=form.wishes.data or "",
        special_conditions=form.special_conditions.data or "",
        required_hours_per_week=form.required_hours_per_week.data,
        consent_to_contact_suppliers=form.consent_to_contact_suppliers.data,
        consent_date=form.consent_date.data,
        child_investigation_date=form.child_investigation_date.data,
        decision_date=form.decision_date.data,
        decided_by=db.session.get(User, form.decided_by_id.data) if form.decided_by_id.data else None,
        themes={entry.form.code.data: (entry.form.level.data, entry.form.narrative.data or "")
                for entry in form.themes},
        goals=[needs.GoalInput(entry.form.goal_type.data or "develop", entry.form.text.data or "",
                               entry.form.measure.data or "")
               for entry in form.goals if (entry.form.text.data or "").strip()],
    )


# --- Stale saves ---

def conflict(template: str, form, current, **context):
    """409: keep what the user typed and show what is saved now where it differs."""
    differences = []
    for field in form:
        if field.type in ("CSRFTokenField", "VersionField", "FieldList", "HiddenField"):
            continue
        saved = getattr(current, field.name, None)
        if saved is not None and hasattr(field, "_value"):
            mine = field._value()
            shown = _shown(saved)
            if str(shown) != str(mine):
                differences.append((field.label.text, shown, mine))
    form.version.data = current.version  # a second save overwrites knowingly
    return render_template(template, form=form, conflict=differences, **context), 409


def _shown(value):
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return value


# --- The case page ---

@dataclass
class StepView:
    stage: Stage
    number: int
    title: str
    state: str  # "done", "current", "todo"


@dataclass
class CasePageView:
    steps: list[StepView]
    stage_info: object
    next_steps: list
    assessment: NeedsAssessment | None
    themes: list
    timeline: list
    comments: list          # (created_at, body, author_name), oldest first
    home_municipality: str
    age: int
    shortlist: list
    open_followups: list   # (follow-up, due state) of the open follow-ups and supplier reviews


def _step_indicator(case: PurchaseCase) -> list[StepView]:
    current = Stage(case.stage)
    number = STAGES[current].number
    steps = []
    for stage in PROCESS_STAGES:
        info = STAGES[stage]
        if current in (Stage.CLOSED,):
            state = "done"
        elif number is None:
            state = "todo"
        else:
            state = "done" if info.number < number else "current" if stage == current else "todo"
        steps.append(StepView(stage, info.number, str(info.title), state))
    return steps


ACTION_LABELS = {
    "case.opened": _l("opened the case"),
    "case.changed": _l("changed the case details"),
    "case.team_changed": _l("changed the team"),
    "case.commented": _l("commented"),
    "case.cpr_shown": _l("viewed the CPR number"),
    "case.step": _l("moved the case on"),
    "needs.saved": _l("saved the needs assessment"),
    "shortlist.added": _l("shortlisted an offer"),
    "shortlist.removed": _l("removed an offer from the shortlist"),
    "shortlist.note": _l("changed the note on a shortlisted offer"),
    "requirement.saved": _l("saved the anonymised requirement"),
    "inquiry.sent": _l("sent an inquiry"),
    "inquiry.revoked": _l("revoked an inquiry's link"),
    "inquiry.unsealed": _l("opened sealed replies"),
    "inquiry.preference": _l("marked the citizen's preference"),
    "inquiry.declined": _l("told a supplier it was not chosen"),
    "reply.received": _l("received a reply"),
    "negotiation.note": _l("wrote in the negotiation log"),
    "dialogue.chosen": _l("chose the supplier"),
    "contract.drafted": _l("drafted the contract terms"),
    "contract.saved": _l("changed the contract terms"),
    "contract.new_version": _l("started a new contract version"),
    "contract.submitted": _l("submitted the terms for approval"),
    "contract.reviewed": _l("reviewed the terms"),
    "contract.approved": _l("approved the terms"),
    "contract.rejected": _l("rejected the terms"),
    "contract.superseded": _l("replaced the contract version in force"),
    "followup.scheduled": _l("recorded the start of delivery; the follow-ups are scheduled"),
    "followup.recorded": _l("recorded a follow-up"),
    "followup.supplier_side": _l("recorded the supplier side of a follow-up"),
    "ending.saved": _l("changed the ending"),
    "case.anonymised": _l("anonymised the citizen's data after the retention period"),
}
# Events written by the app itself, with no user behind them (an event without one is otherwise the supplier's).
SYSTEM_ACTIONS = {"case.anonymised"}
# A stored value that is a number or an amount; an anonymised case's history shows only these, codes and dates.
_FIGURE = re.compile(r"^-?\d+(\.\d+)?$")

FIELD_LABELS = {
    "end_date": _l("End date"), "reason": _l("Reason for ending"), "final_cost": _l("Final cost (DKK)"),
    "notice_given_on": _l("Notice given on"), "computed_cost": _l("Cost by the contract, start to end"),
    "notice_date": _l("Last day to give notice"),
    "legal_basis": _l("Legal basis"), "target_group": _l("Target group"), "acute": _l("Acute case"),
    "desired_start": _l("Desired start"), "budget_frame": _l("Budget frame per year (DKK)"),
    "owner_id": _l("Owning caseworker"), "procurement_id": _l("Procurement colleague"),
    "economy_id": _l("Economy colleague"), "support_need": _l("Support need level"),
    "expected_duration": _l("Expected duration"), "wishes": _l("The citizen's or family's wishes"),
    "special_conditions": _l("Special conditions"), "required_hours_per_week": _l("Support hours per week"),
    "consent_to_contact_suppliers": _l("Consent to contact suppliers"), "consent_date": _l("Date of consent"),
    "child_investigation_date": _l("Date of the child-welfare investigation (§ 20)"),
    "decision_date": _l("Decision date"), "decided_by_id": _l("Decided by"), "goals": _l("Number of goals"),
}


class _Words:
    """The history's words in the user's language, each translated once per page.

    A long history repeats a few dozen labels hundreds of times, and every translation looks the locale and the
    catalogue up anew: translated once each, the words cost nothing however long the history is."""

    def __init__(self) -> None:
        self._seen: dict = {}
        self.yes, self.no, self.anonymised = _("yes"), _("no"), _("Anonymised")
        self.system, self.supplier = _("The system"), _("the supplier")

    def label(self, table: dict, key) -> str:
        """The table's label for key in the user's language (the key itself when the table has none)."""
        found = self._seen.get((id(table), key))
        if found is None:
            found = self._seen[id(table), key] = str(table.get(key, key))
        return found

    def step(self, source: str, target: str) -> str:
        found = self._seen.get(("step", source, target))
        if found is None:
            found = self._seen["step", source, target] = _(
                "moved the case from %(source)s to %(target)s", source=Stage(source).label, target=Stage(target).label)
        return found


def _value(name: str, value, people: dict[int, str], words: _Words, anonymised: bool = False):
    """A stored before/after value as a person reads it.

    The audit trail is append-only, so retention cannot take free text out of it: on an anonymised case, text
    that is not a code, a date or a number is not shown (the administrators' audit log still has it)."""
    if value is None or value == "":
        return "–"
    if name.endswith("_id") and isinstance(value, int):
        return people.get(value, value)
    if name.startswith("theme:"):
        return words.label(LEVEL_LABELS, value)
    if name == "support_need":
        return words.label(SUPPORT_NEED_LABELS, value)
    if name == "legal_basis":
        return legal_basis_label(value)
    if name == "target_group":
        return words.label(TARGET_GROUP_LABELS, value)
    if isinstance(value, bool) or value in ("True", "False"):
        return words.yes if value in (True, "True") else words.no
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return f"{value[8:]}-{value[5:7]}-{value[:4]}"  # an ISO date
    if anonymised and isinstance(value, str) and not _FIGURE.match(value):
        return words.anonymised
    return value


TIMELINE_LENGTH = 200   # the latest events of the case's history


def _people_named(events) -> dict[int, str]:
    """The names of the people a change in the events refers to (an owner_id, a decided_by_id)."""
    ids = {int(value) for event in events for name, pair in (event.details.get("changes") or {}).items()
           if name.endswith("_id") for value in pair if isinstance(value, int)}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())


def _timeline(case: PurchaseCase) -> list[dict]:
    """The latest events, newest first, in words. Read as plain rows (no objects to track), with the actor's
    name joined in: the page only shows them."""
    events = db.session.execute(
        select(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.details, AuditEvent.actor_id,
               User.full_name.label("actor_name"))
        .outerjoin(User, User.id == AuditEvent.actor_id).where(AuditEvent.case_id == case.id)
        .order_by(AuditEvent.id.desc()).limit(TIMELINE_LENGTH)).all()
    people = _people_named(events)
    words = _Words()
    anonymised = case.citizen.anonymised
    rows = []
    for event in events:
        details = event.details
        changes = []
        for name, (before, after) in (details.get("changes") or {}).items():
            is_theme = name.startswith("theme:") and name[6:] in THEME_LABELS
            label = words.label(THEME_LABELS, name[6:]) if is_theme else words.label(FIELD_LABELS, name)
            changes.append((label, _value(name, before, people, words, anonymised),
                            _value(name, after, people, words, anonymised)))
        action = event.action
        what = words.label(ACTION_LABELS, action)
        if action == "case.step":
            what = words.step(details["from"], details["to"])
        subject = details.get("offer")
        if subject and action.startswith(("inquiry.", "reply.", "dialogue.", "shortlist.", "negotiation.")):
            what = f"{what}: {subject}"
            if action == "reply.received" and details.get("version", 1) > 1:
                what += " " + _("(revision %(n)s)", n=details["version"])
        who = (event.actor_name if event.actor_id is not None
               else words.system if action in SYSTEM_ACTIONS else words.supplier)
        reason = None if anonymised else details.get("reason")
        rows.append({"when": event.occurred_at, "who": who, "what": what, "changes": changes, "reason": reason})
    return rows


def case_page(case: PurchaseCase, user: User) -> CasePageView:
    assessment = db.session.scalar(
        select(NeedsAssessment).where(NeedsAssessment.case_id == case.id, NeedsAssessment.current.is_(True))
        .options(selectinload(NeedsAssessment.themes), selectinload(NeedsAssessment.goals),
                 joinedload(NeedsAssessment.decided_by)))
    comments = db.session.execute(
        select(CaseComment.created_at, CaseComment.body, User.full_name.label("author_name"))
        .join(User, User.id == CaseComment.author_id).where(CaseComment.case_id == case.id)
        .order_by(CaseComment.id)).all()
    themes = []
    for code, label, group in THEMES:
        theme = assessment.theme(code) if assessment else None
        themes.append({"label": label, "group": group, "level": theme.level if theme else None,
                       "narrative": theme.narrative if theme else None})
    municipality = MUNICIPALITIES.get(case.citizen.home_municipality)
    return CasePageView(
        steps=_step_indicator(case),
        stage_info=STAGES[Stage(case.stage)],
        next_steps=transitions.steps_for(case, user, assessment),
        assessment=assessment,
        themes=themes,
        timeline=_timeline(case),
        comments=comments,
        home_municipality=municipality.name if municipality else case.citizen.home_municipality,
        age=case.citizen.age_on(date.today()),
        shortlist=shortlist.entries(case),
        open_followups=_open_followups(case),
    )


def _open_followups(case: PurchaseCase) -> list:
    """The open follow-ups and supplier reviews (FollowUp.is_open), due first, each with its due state; the
    held ones of a long placement are not read.

    Sorted here, not by the query: with ORDER BY due_date, SQLite's planner walked the index of every open
    follow-up (ix_follow_ups_open_due, for the task lists) in due order instead of reading this case's few rows
    (ix_follow_ups_case_open, the portfolio's, now serves either way)."""
    if case.delivery_started_on is None:
        return []
    rows = sorted(db.session.scalars(
        select(FollowUp).where(FollowUp.case_id == case.id, FollowUp.held_on.is_(None),
                               FollowUp.cancelled_on.is_(None))), key=lambda row: (row.due_date, row.id))
    if not rows:
        return []
    today, soon_days = clock.today(), settings.get("followup_soon_days")
    return [(row, followup.state_of(row, today, soon_days)) for row in rows]
