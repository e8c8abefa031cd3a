"""Forms of the supplier dialogue, for staff and for the supplier's reply page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from workflow.forms import DanishDateField, Form, MoneyField, VersionField
from workflow.i18n import PRICE_UNIT_LABELS
from workflow.vum import SUPPORT_NEEDS


class RequirementForm(Form):
    version = VersionField()
    age_band = StringField(_l("Age band"), validators=[DataRequired(), Length(max=40)])
    functional_summary = TextAreaField(_l("Functional levels"), validators=[Optional(), Length(max=5000)])
    support_need = SelectField(_l("Support need level"), validators=[Optional()],
                               choices=[("", "–")] + [(code, label) for code, label in SUPPORT_NEEDS])
    goals = TextAreaField(_l("Goals"), validators=[Optional(), Length(max=5000)])
    services = TextAreaField(_l("Services required"), validators=[Optional(), Length(max=2000)])
    hours_per_week = IntegerField(_l("Hours per week"), validators=[Optional(), NumberRange(0, 168)])
    desired_start = DanishDateField(_l("Desired start"), validators=[Optional()])
    special_conditions = TextAreaField(_l("Special conditions"), validators=[Optional(), Length(max=5000)])


class OfferChoiceField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SendForm(Form):
    offers = OfferChoiceField(_l("Send to"), coerce=int)
    deadline = DanishDateField(_l("Reply deadline"), validators=[InputRequired()],
                               description=_l("A business day; the default counts Danish business days."))
    sealed = BooleanField(_l("Seal the replies until the deadline"),
                          description=_l("Nobody sees the replies before the deadline unless you open them."))


class PriceLineForm(Form):
    class Meta:
        csrf = False

    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    unit = SelectField(_l("Unit"), choices=list(PRICE_UNIT_LABELS.items()), validate_choice=False)
    unit_price = MoneyField(_l("Unit price (DKK, without VAT)"), validators=[Optional()])
    quantity = StringField(_l("Quantity per unit"), validators=[Optional(), Length(max=10)],
                           description=_l("Hours a week for hourly prices; otherwise 1."))


class ReplyForm(Form):
    can_deliver = RadioField(_l("Can you deliver?"), choices=[("yes", _l("Yes")), ("no", _l("No"))],
                             validators=[InputRequired()])
    earliest_start = DanishDateField(_l("Earliest start"), validators=[Optional()])
    lines = FieldList(FormField(PriceLineForm), min_entries=3, max_entries=10)
    additional_services = TextAreaField(_l("Additional services (tillægsydelser)"),
                                        validators=[Optional(), Length(max=5000)])
    conditions = TextAreaField(_l("Conditions"), validators=[Optional(), Length(max=5000)])
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=200)])
    contact_email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(check_deliverability=False),
                                                         Length(max=254)])
    contact_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])


class ManualReplyForm(ReplyForm):
    channel = SelectField(_l("Received by"), choices=[("phone", _l("Phone")), ("e-mail", _l("E-mail")),
                                                      ("negotiation", _l("Negotiation"))])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=200)])
    contact_email = EmailField(_l("E-mail"), validators=[Optional(), Email(check_deliverability=False),
                                                         Length(max=254)])


class NoteForm(Form):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=5000)])


class ChooseForm(Form):
    version = VersionField()
    inquiry_id = RadioField(_l("Choose"), coerce=int, validators=[InputRequired()])
    justification = TextAreaField(_l("Justification"), validators=[Optional(), Length(max=5000)],
                                  description=_l("Required when the choice is not both the best scored and the "
                                                 "cheapest reply."))
