"""The dashboard's filter form: a GET form, so no CSRF token. The service reads and checks the values."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField

from workflow.forms import Form


class PortfolioFilterForm(Form):
    """Unit and period as typed; `portfolio.parse_filters` parses them and refuses bad input."""

    unit = SelectField(_l("Unit"), choices=[], validate_choice=False,
                       description=_l("Only the cases you have access to are counted."))
    period_from = StringField(_l("From"), name="from", description=_l("dd-mm-yyyy, for example 01-01-2026"),
                              render_kw={"autocomplete": "off", "inputmode": "numeric"})
    period_to = StringField(_l("To"), name="to", description=_l("dd-mm-yyyy, for example 31-12-2026"),
                            render_kw={"autocomplete": "off", "inputmode": "numeric"})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("meta", {"csrf": False})
        super().__init__(*args, **kwargs)
