"""Forms of stages 6 to 8: the start of delivery, a follow-up, the supplier side, the ending."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import FieldList, FormField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from workflow.forms import DanishDateField, Form, MoneyField, VersionField
from workflow.i18n import FOLLOWUP_OUTCOMES, GOAL_SCORES, QUALITY_RATINGS
from workflow.vum import FUNCTION_LEVELS


class DeliveryForm(Form):
    version = VersionField()
    started_on = DanishDateField(_l("The delivery started on"), validators=[InputRequired()],
                                 description=_l("The day the citizen moved in or the support began (dd-mm-yyyy)."))


class GoalScoreForm(Form):
    class Meta:
        csrf = False

    goal_id = HiddenField()
    score = RadioField(_l("Score"), choices=list(GOAL_SCORES.items()),
                       validators=[InputRequired(_l("Score the goal."))])
    note = StringField(_l("Note on the goal"), validators=[Optional(), Length(max=500)])


class ThemeLevelForm(Form):
    class Meta:
        csrf = False

    theme = HiddenField()
    level = SelectField(_l("Functional level now"), validate_choice=False,
                        choices=[("", _l("Unchanged"))] + [(str(code), label) for code, label in FUNCTION_LEVELS])


class FollowUpForm(Form):
    version = VersionField()
    case_version = VersionField()
    held_on = DanishDateField(_l("Held on"), validators=[InputRequired()])
    participants = TextAreaField(_l("Participants"), validators=[InputRequired(), Length(max=1000)],
                                 description=_l("Who took part: the citizen, relatives, the supplier's staff, us."))
    scores = FieldList(FormField(GoalScoreForm))
    levels = FieldList(FormField(ThemeLevelForm))
    citizen_view = TextAreaField(_l("The citizen's own view"), validators=[Optional(), Length(max=3000)])
    notes = TextAreaField(_l("Other notes"), validators=[Optional(), Length(max=3000)])
    outcome = RadioField(_l("Outcome"), choices=list(FOLLOWUP_OUTCOMES.items()),
                         validators=[InputRequired(_l("Choose the outcome of the follow-up."))])
    end_date = DanishDateField(_l("End date"), validators=[Optional()],
                               description=_l("Only when the outcome is to end the purchase."))
    end_reason = TextAreaField(_l("Reason for ending"), validators=[Optional(), Length(max=2000)],
                               description=_l("Only when the outcome is to end the purchase."))


class SupplierSideForm(Form):
    version = VersionField()
    held_on = DanishDateField(_l("Supplier review held on"), validators=[Optional()])
    reports_received = RadioField(_l("Has the supplier sent the agreed reports?"),
                                  choices=[("yes", _l("Yes")), ("no", _l("No"))],
                                  validators=[InputRequired(_l("Answer yes or no."))])
    quality = RadioField(_l("Quality of the delivery"), choices=list(QUALITY_RATINGS.items()),
                         validators=[InputRequired(_l("Choose the quality from the list."))])
    deviations = TextAreaField(_l("Deviations from the contract"), validators=[Optional(), Length(max=3000)])
    incidents = TextAreaField(_l("Incidents (utilsigtede hændelser, magtanvendelse)"),
                              validators=[Optional(), Length(max=3000)])
    period_from = DanishDateField(_l("Invoiced period from"), validators=[Optional()])
    period_to = DanishDateField(_l("Invoiced period to"), validators=[Optional()])
    invoiced = MoneyField(_l("Invoiced for the period (DKK)"), validators=[Optional()])


class EndingForm(Form):
    version = VersionField()
    end_date = DanishDateField(_l("End date"), validators=[InputRequired()])
    reason = TextAreaField(_l("Reason for ending"), validators=[InputRequired(), Length(max=2000)])
    notice_given_on = DanishDateField(_l("Notice given on"), validators=[Optional()],
                                      description=_l("The day the municipality or the supplier gave notice."))
    final_cost = MoneyField(_l("Final cost (DKK)"), validators=[Optional()],
                            description=_l("What the purchase cost in all. Pre-filled from the contract; "
                                           "economy confirms it against the invoices."))


