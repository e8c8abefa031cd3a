from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from workflow.forms import DanishDateField, Form, PlainForm  # noqa: F401 - sign-out uses it


class SignInForm(Form):
    login = StringField(_l("Login name"), validators=[DataRequired(), Length(max=128)],
                        render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class LanguageForm(Form):
    language = HiddenField(validators=[DataRequired()])
    next = HiddenField()


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)],
                             description=_l("At least 12 characters. Common passwords are refused."),
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class ApiTokenForm(Form):
    name = StringField(_l("Name of the token"), validators=[DataRequired(), Length(max=80)],
                       description=_l("What the token is for, for example the case-file system."))
    expires_on = DanishDateField(_l("Valid until"), description=_l("dd-mm-yyyy. At most a year ahead; "
                                                                   "empty: 90 days."))
