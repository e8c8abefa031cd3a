"""What the follow-up pages show, built from the services, and the forms' data back into service inputs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from wtforms.fields import Label

from workflow.models import FollowUp, PurchaseCase
from workflow.services import cases, followup
from workflow.vum import THEME_LABELS, THEMES


@dataclass
class ScheduleRow:
    follow_up: FollowUp
    state: str

    @property
    def open(self) -> bool:
        return self.state in followup.OPEN_STATES


def schedule(rows: list[FollowUp], today: date) -> list[ScheduleRow]:
    """By when each happened: the day held or cancelled, else the day due (one held early sits where it was held)."""
    soon_days = followup.settings.get("followup_soon_days")
    ordered = sorted(rows, key=lambda row: (row.held_on or row.cancelled_on or row.due_date, row.id))
    return [ScheduleRow(row, followup.state_of(row, today, soon_days)) for row in ordered]


@dataclass
class GoalsOverTime:
    dates: list[date]
    rows: list[tuple[str, list[str | None]]]   # goal text, its score at each date (None: not scored then)


def goals_over_time(rows: list[FollowUp]) -> GoalsOverTime:
    """One row per goal (by its text, so it survives a re-assessment), one column per held follow-up."""
    held = [row for row in rows if row.kind == "individual" and row.held_on is not None]
    held.sort(key=lambda row: (row.held_on, row.id))
    texts: list[str] = []
    for row in held:
        for score in row.goal_scores:
            if score.goal_text not in texts:
                texts.append(score.goal_text)
    table = [(text, [next((s.score for s in row.goal_scores if s.goal_text == text), None) for row in held])
             for text in texts]
    return GoalsOverTime([row.held_on for row in held], table)


def current_levels(case: PurchaseCase, rows: list[FollowUp]) -> dict[str, int | None]:
    """Each theme's level as the assessment set it, changed by the follow-ups since, in order."""
    assessment = cases.current_assessment(case)
    levels = {code: (assessment.theme(code).level if assessment and assessment.theme(code) else None)
              for code, _label, _group in THEMES}
    for row in sorted((r for r in rows if r.held_on and r.functional_levels), key=lambda r: (r.held_on, r.id)):
        levels.update({code: int(level) for code, level in row.functional_levels.items()})
    return levels


def fill_record_form(form, case: PurchaseCase) -> None:
    """One score per goal of the current assessment and one level per theme, in the form's lists."""
    goals = cases.current_assessment(case).goals
    if not form.scores.entries or len(form.scores.entries) != len(goals):
        while form.scores.entries:
            form.scores.pop_entry()
        for goal in goals:
            form.scores.append_entry({"goal_id": str(goal.id)})
    if not form.levels.entries:
        for code, _label, _group in THEMES:
            form.levels.append_entry({"theme": code})
    for entry in form.levels:   # each select is labelled with its theme
        entry.form.level.label = Label(entry.form.level.id, THEME_LABELS.get(entry.form.theme.data, ""))


def goal_labels(case: PurchaseCase) -> dict[str, object]:
    return {str(goal.id): goal for goal in cases.current_assessment(case).goals}


def record_input(form) -> followup.FollowUpInput:
    scores = []
    for entry in form.scores:
        try:
            goal_id = int(entry.form.goal_id.data)
        except (TypeError, ValueError):
            continue
        scores.append(followup.GoalScoreInput(goal_id, entry.form.score.data or "", entry.form.note.data or ""))
    levels = {}
    for entry in form.levels:
        if entry.form.level.data not in (None, ""):
            try:
                levels[entry.form.theme.data] = int(entry.form.level.data)
            except ValueError:
                levels[entry.form.theme.data] = -1   # refused by the service with a clear message
    return followup.FollowUpInput(
        held_on=form.held_on.data, participants=form.participants.data or "",
        citizen_view=form.citizen_view.data or "", outcome=form.outcome.data or "", scores=scores,
        functional_levels=levels, notes=form.notes.data or "", end_date=form.end_date.data,
        end_reason=form.end_reason.data or "")


def supplier_input(form) -> followup.SupplierSideInput:
    return followup.SupplierSideInput(
        reports_received=form.reports_received.data == "yes", quality=form.quality.data or "",
        deviations=form.deviations.data or "", incidents=form.incidents.data or "",
        period_from=form.period_from.data, period_to=form.period_to.data, invoiced=form.invoiced.data,
        held_on=form.held_on.data)
