"""Forms of the market scan and the shortlist."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from workflow.forms import Form


class ShortlistAddForm(Form):
    offer_id = IntegerField(validators=[DataRequired()])
    score = IntegerField(validators=[Optional()])
    note = TextAreaField(_l("Why this offer"), validators=[Optional(), Length(max=2000)])


class ShortlistNoteForm(Form):
    note = TextAreaField(_l("Why this offer"), validators=[Optional(), Length(max=2000)])


class ShortlistRemoveForm(Form):
    entry = HiddenField()
