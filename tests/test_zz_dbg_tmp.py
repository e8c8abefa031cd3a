from flask import g
from flask_babel import force_locale, get_locale, gettext

from tests.test_market_scan import *


def test_x(db, staff):
    case = make_case(staff.caseworker)
    new_offer(new_supplier(), "base")
    db.session.commit()
    print("g", g.__dict__)
    with force_locale("en"):
        print(get_locale(), gettext("within the budget frame"), g._flask_babel)
        rows = run_scan(case, needs(), ScanFilters(legal_basis="SEL-108"), TODAY)
        print(get_locale(), gettext("within the budget frame"), g._flask_babel)
        print(rows[0].parts)
