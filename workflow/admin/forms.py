from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import AnyOf, DataRequired, Email, InputRequired, Length, Optional, Regexp

from workflow.forms import Form, MoneyField, VersionField
from workflow.models import Role
from workflow.roles import ROLE_LABELS


def role_choices():
    return [(role.value, str(ROLE_LABELS[role])) for role in Role]


class UserForm(Form):
    version = VersionField()
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    role = SelectField(_l("Role"), choices=role_choices)
    unit_id = SelectField(_l("Unit"), coerce=int, choices=[])
    approval_limit = MoneyField(_l("Approval limit (annual cost, DKK)"),
                                description=_l("Managers only: the highest annual cost they may approve."))
    active = BooleanField(_l("Active"), default=True,
                          description=_l("Deactivating signs the user out at once."))


class NewUserForm(UserForm):
    login = StringField(_l("Login name"), validators=[
        DataRequired(), Length(min=2, max=64),
        Regexp(r"^[a-zA-Z0-9._-]+$", message=_l("Use letters a–z, digits, dot, dash or underscore.")),
    ])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)],
                             description=_l("At least 12 characters. Common passwords are refused."),
                             render_kw={"autocomplete": "new-password"})


class ResetPasswordForm(Form):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)],
                             description=_l("At least 12 characters. The user's sessions end at once."),
                             render_kw={"autocomplete": "new-password"})


class UnitForm(Form):
    version = VersionField()
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    active = BooleanField(_l("Active"), default=True)


class TierForm(Form):
    class Meta:
        csrf = False

    name = StringField(_l("Tier"), validators=[Optional(), Length(max=80)])
    limit = MoneyField(_l("Up to annual cost (DKK)"))


class IntervalForm(Form):
    class Meta:
        csrf = False

    code = StringField()
    first_months = IntegerField(_l("First follow-up after (months)"), validators=[InputRequired()])
    then_months = IntegerField(_l("Then every (months)"), validators=[InputRequired()])


class SettingsForm(Form):
    approval_tiers = FieldList(FormField(TierForm), min_entries=1, max_entries=6)
    followup_intervals = FieldList(FormField(IntervalForm))
    followup_soon_days = IntegerField(validators=[InputRequired()])
    offer_stale_months = IntegerField(validators=[InputRequired()])
    inquiry_reply_business_days = IntegerField(validators=[InputRequired()])
    retention_years = IntegerField(validators=[InputRequired()])
    weight_price = IntegerField(validators=[InputRequired()])
    weight_quality = IntegerField(validators=[InputRequired()])
    weight_distance = IntegerField(validators=[InputRequired()])
    weight_preference = IntegerField(validators=[InputRequired()])
    eu_threshold_dkk = IntegerField(validators=[InputRequired()])


class AccessExtractForm(Form):
    """The CPR number of a data-subject access request: only ever in a POST body, never echoed back."""

    cpr = StringField(_l("The citizen's CPR number"), validators=[DataRequired(), Length(max=20)],
                      description=_l("DDMMYY-SSSS. Producing the extract is logged as a read of the citizen's data."),
                      render_kw={"autocomplete": "off", "inputmode": "numeric"})


class AccessExtractDownloadForm(Form):
    """A download from the results page: the signed reference the page carries, and the format."""

    token = HiddenField(validators=[DataRequired()])
    format = HiddenField(validators=[DataRequired(), AnyOf(("pdf", "csv"))])
