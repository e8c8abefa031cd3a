"""Forms of the contract terms and their approval."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FieldList, FormField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from workflow.forms import DanishDateField, Form, MoneyField, VersionField
from workflow.i18n import PRICE_UNIT_LABELS


class ContractLineForm(Form):
    class Meta:
        csrf = False

    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    unit = SelectField(_l("Unit"), choices=list(PRICE_UNIT_LABELS.items()), validate_choice=False)
    unit_price = MoneyField(_l("Unit price (DKK)"), validators=[Optional()])
    quantity = StringField(_l("Quantity per unit"), validators=[Optional(), Length(max=10)],
                           description=_l("Hours a week for hourly prices; otherwise 1."))
    supplement = BooleanField(_l("Supplement (tillægsydelse)"))


class TermsForm(Form):
    version = VersionField()
    acting_municipality = StringField(_l("Acting municipality"), validators=[DataRequired(), Length(max=100)])
    acting_ean = StringField(_l("EAN of the acting municipality"), validators=[Optional(), Length(max=13)])
    acting_contact = StringField(_l("Contact at the acting municipality"), validators=[Optional(), Length(max=200)])
    paying_municipality = StringField(_l("Paying municipality"), validators=[DataRequired(), Length(max=100)],
                                      description=_l("May differ from the acting municipality."))
    paying_ean = StringField(_l("EAN of the paying municipality"), validators=[Optional(), Length(max=13)])
    supplier_contact = StringField(_l("Supplier's contact"), validators=[Optional(), Length(max=300)])
    primary_service = TextAreaField(_l("Primary service"), validators=[DataRequired(), Length(max=2000)])
    further_services = TextAreaField(_l("Further services"), validators=[Optional(), Length(max=2000)])
    lines = FieldList(FormField(ContractLineForm), min_entries=4, max_entries=12)
    price_regulation = StringField(_l("Price regulation"), validators=[Optional(), Length(max=200)])
    payment_terms = SelectField(_l("Payment"), choices=[("arrears", _l("In arrears")), ("advance", _l("In advance"))])
    payment_days = IntegerField(_l("Days to pay after the invoice"), validators=[InputRequired(), NumberRange(0, 30)])
    start_date = DanishDateField(_l("Start date"), validators=[Optional()])
    duration_months = IntegerField(_l("Expected duration (months)"), validators=[Optional(), NumberRange(1, 240)])
    review_date = DanishDateField(_l("Or: review date"), validators=[Optional()])
    notice_months = IntegerField(_l("Notice (months)"), validators=[InputRequired(), NumberRange(0, 24)])
    absence_rules = TextAreaField(_l("Absence and hospitalisation"), validators=[Optional(), Length(max=3000)])
    documentation_duties = TextAreaField(_l("Documentation and reporting duties"),
                                         validators=[Optional(), Length(max=3000)])
    goals = TextAreaField(_l("Goals from the needs assessment"), validators=[Optional(), Length(max=5000)])
    data_processing = TextAreaField(_l("Data processing terms"), validators=[Optional(), Length(max=3000)])
    framework_reference = StringField(_l("Framework agreement reference"), validators=[Optional(), Length(max=200)])


class DecisionForm(Form):
    version = VersionField()


class RejectForm(Form):
    version = VersionField()
    reason = TextAreaField(_l("Reason for rejecting"), validators=[InputRequired(), Length(max=3000)])
