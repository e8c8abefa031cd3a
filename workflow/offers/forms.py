"""Forms of the offer registry."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from workflow import legal_basis, municipalities
from workflow.forms import DanishDateField, Form, MoneyField, VersionField
from workflow.i18n import PRICE_UNIT_LABELS, SUPPLIER_TYPE_LABELS
from workflow.vocabulary import SERVICE_TYPES, TARGET_GROUPS

APPROVAL_CHOICES = (("approved", _l("Approved")), ("pending", _l("Approval pending")),
                    ("not_approved", _l("Not approved")))


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SupplierForm(Form):
    version = VersionField()
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    cvr = StringField(_l("CVR number"), validators=[DataRequired(), Length(max=8)],
                      render_kw={"inputmode": "numeric"})
    ean = StringField(_l("EAN number"), validators=[Optional(), Length(max=13)], render_kw={"inputmode": "numeric"})
    supplier_type = SelectField(_l("Type"), choices=list(SUPPLIER_TYPE_LABELS.items()))
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=200)])
    contact_email = StringField(_l("Contact e-mail"), validators=[Optional(), Email(check_deliverability=False),
                                                                  Length(max=254)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])


class OfferForm(Form):
    version = VersionField()
    supplier_id = SelectField(_l("Supplier"), coerce=int)
    key = StringField(_l("Registry id"), validators=[DataRequired(), Length(max=40)],
                      description=_l("The offer's id in Tilbudsportalen; imports update offers by it."))
    name = StringField(_l("Name of the offer"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    municipality = SelectField(_l("Municipality"), validators=[DataRequired()])
    legal_bases = CheckboxListField(_l("Legal bases"), validators=[DataRequired()])
    target_groups = CheckboxListField(_l("Target groups"), validators=[Optional()])
    service_types = CheckboxListField(_l("Service types"), validators=[Optional()])
    places = IntegerField(_l("Places"), validators=[InputRequired(), NumberRange(0, 10000)])
    vacancies = IntegerField(_l("Vacancies"), validators=[InputRequired(), NumberRange(0, 10000)])
    list_price = MoneyField(_l("List price (DKK)"), validators=[InputRequired()])
    price_unit = SelectField(_l("Price unit"), choices=list(PRICE_UNIT_LABELS.items()))
    price_effective_from = DanishDateField(_l("Price in effect from"), validators=[InputRequired()])
    approval_status = SelectField(_l("Approval by Socialtilsynet"), choices=APPROVAL_CHOICES)
    approved_on = DanishDateField(_l("Approved on"), validators=[Optional()])
    framework_agreement = BooleanField(_l("Under a framework agreement"))
    framework_name = StringField(_l("Framework agreement"), validators=[Optional(), Length(max=200)])
    data_updated_on = DanishDateField(_l("Data last updated"), validators=[InputRequired()])
    quality_note = TextAreaField(_l("Quality note"), validators=[Optional(), Length(max=5000)])
    active = BooleanField(_l("Active"), default=True,
                          description=_l("Inactive offers no longer show in market scans."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.municipality.choices = [("", str(_l("Choose municipality")))] + municipalities.choices()
        self.legal_bases.choices = legal_basis.choices()
        self.target_groups.choices = [(code, str(label)) for code, label in TARGET_GROUPS]
        self.service_types.choices = [(code, str(label)) for code, label in SERVICE_TYPES]


class ImportForm(Form):
    file = FileField(_l("CSV file"),
                     validators=[FileRequired(), FileAllowed(["csv", "txt"], _l("Choose a CSV file."))],
                     description=_l("Semicolon- or comma-separated, UTF-8. The columns are described below."))

