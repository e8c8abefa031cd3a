"""Forms of the case pages. They check the shape of input; the rules live in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from workflow import legal_basis, municipalities
from workflow.forms import DanishDateField, Form, MoneyField, VersionField
from workflow.vocabulary import TARGET_GROUPS
from workflow.vum import FUNCTION_LEVELS, GOAL_TYPES, SUPPORT_NEEDS


def _choices(pairs, blank: str | None = None):
    options = [(code, str(label)) for code, label in pairs]
    return ([("", blank)] if blank is not None else []) + options


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class CaseDetailsForm(Form):
    version = VersionField()
    legal_basis = SelectField(_l("Legal basis"), validators=[DataRequired()])
    target_group = SelectField(_l("Target group"), validators=[DataRequired()])
    acute = BooleanField(_l("Acute case"), description=_l("An acute case may use an unapproved offer for at "
                                                          "most three weeks and needs fewer offers compared."))
    desired_start = DanishDateField(_l("Desired start"), validators=[Optional()])
    budget_frame = MoneyField(_l("Budget frame per year (DKK)"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.legal_basis.choices = _choices(legal_basis.choices(), str(_l("Choose legal basis")))
        self.target_group.choices = _choices(TARGET_GROUPS, str(_l("Choose target group")))


class NewCaseForm(CaseDetailsForm):
    cpr = StringField(_l("CPR number"), validators=[DataRequired(), Length(max=20)],
                      description=_l("DDMMYY-SSSS. Shown masked everywhere afterwards."),
                      render_kw={"autocomplete": "off", "inputmode": "numeric"})
    citizen_name = StringField(_l("Citizen's name"), validators=[DataRequired(), Length(max=200)],
                               render_kw={"autocomplete": "off"})
    home_municipality = SelectField(_l("Home municipality"), validators=[DataRequired()])
    procurement_id = SelectField(_l("Procurement colleague"), coerce=_optional_int, validators=[Optional()])
    economy_id = SelectField(_l("Economy colleague"), coerce=_optional_int, validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.home_municipality.choices = _choices(municipalities.choices(), str(_l("Choose municipality")))


class TeamForm(Form):
    version = VersionField()
    owner_id = SelectField(_l("Owning caseworker"), coerce=int)
    procurement_id = SelectField(_l("Procurement colleague"), coerce=_optional_int, validators=[Optional()])
    economy_id = SelectField(_l("Economy colleague"), coerce=_optional_int, validators=[Optional()])


class ThemeForm(Form):
    class Meta:
        csrf = False

    code = HiddenField()
    level = SelectField(_l("Functional level"), coerce=_optional_int, validators=[Optional()])
    narrative = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.level.choices = [("", str(_l("Not assessed")))] + [(str(v), str(label)) for v, label in FUNCTION_LEVELS]


class GoalForm(Form):
    class Meta:
        csrf = False

    goal_type = SelectField(_l("Goal type"), validators=[Optional()])
    text = TextAreaField(_l("Goal"), validators=[Optional(), Length(max=2000)])
    measure = StringField(_l("How it is measured"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.goal_type.choices = _choices(GOAL_TYPES)


class NeedsForm(Form):
    version = VersionField()
    support_need = SelectField(_l("Support need level"), validators=[Optional()])
    themes = FieldList(FormField(ThemeForm))
    goals = FieldList(FormField(GoalForm), max_entries=30)
    required_hours_per_week = IntegerField(_l("Support hours per week"), validators=[Optional(), NumberRange(0, 168)],
                                           description=_l("For § 85 support and the like; leave empty for a place."))
    expected_duration = StringField(_l("Expected duration"), validators=[Optional(), Length(max=200)],
                                    description=_l("For example '2 years' or 'permanent, review yearly'."))
    wishes = TextAreaField(_l("The citizen's or family's wishes"), validators=[Optional(), Length(max=5000)])
    special_conditions = TextAreaField(_l("Special conditions"), validators=[Optional(), Length(max=5000)],
                                       description=_l("Shown to suppliers in the anonymised requirement: "
                                                      "write nothing that identifies the citizen."))
    consent_to_contact_suppliers = BooleanField(_l("The citizen consents to suppliers being contacted with an "
                                                   "anonymised requirement"))
    consent_date = DanishDateField(_l("Date of consent"), validators=[Optional()])
    child_investigation_date = DanishDateField(_l("Date of the child-welfare investigation (§ 20)"),
                                               validators=[Optional()])
    decision_date = DanishDateField(_l("Decision date"), validators=[Optional()])
    decided_by_id = SelectField(_l("Decided by"), coerce=_optional_int, validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.support_need.choices = _choices(SUPPORT_NEEDS, str(_l("Not assessed")))


class CommentForm(Form):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=5000)])


class ReasonForm(Form):
    version = VersionField()
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])


class StepForm(Form):
    version = VersionField()


class CprSearchForm(Form):
    cpr = StringField(_l("CPR number"), validators=[DataRequired(), Length(max=20)],
                      render_kw={"autocomplete": "off", "inputmode": "numeric"})
