"""Stage 2 on a case: the market scan at /cases/<id>/market-scan and the shortlist."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflow import legal_basis
from workflow.cases.loading import load_case, load_of_case
from workflow.extensions import db
from workflow.forms import parse_money
from workflow.market.forms import ShortlistAddForm, ShortlistNoteForm, ShortlistRemoveForm
from workflow.market.texts import ScanTexts
from workflow.models import Offer, ShortlistEntry
from workflow.security import STAFF, restrict_blueprint
from workflow.services import ServiceError, cases, market_scan, shortlist
from workflow.vocabulary import SERVICE_TYPES, TARGET_GROUPS

bp = Blueprint("market", __name__)

restrict_blueprint(bp, *STAFF)


def _filters(case) -> market_scan.ScanFilters:
    args = request.args
    basis = args.get("legal_basis", case.legal_basis)
    if basis not in legal_basis.BY_CODE:
        basis = case.legal_basis
    services = [code for code in args.getlist("service") if code in dict(SERVICE_TYPES)]
    max_annual = None
    if args.get("max_annual"):
        try:
            max_annual = parse_money(args["max_annual"])
        except ValueError:
            flash(_("Write the highest annual cost as an amount, for example 1.200.000."), "error")
    return market_scan.ScanFilters(
        legal_basis=basis,
        # Every offer under the legal basis is shown by default; the target group weighs in the score.
        target_group=args.get("target_group", ""),
        service_types=services, vacancy_only=args.get("vacancy") == "1", approved_only=args.get("approved") == "1",
        framework_only=args.get("framework") == "1", max_km=args.get("max_km", type=int), max_annual=max_annual,
        sort=args.get("sort", "score"))


def _needs(case, filters) -> market_scan.CaseNeeds:
    assessment = cases.current_assessment(case)
    return market_scan.CaseNeeds(
        target_group=case.target_group, home_municipality=case.citizen.home_municipality,
        budget_frame=case.budget_frame, hours_per_week=assessment.required_hours_per_week if assessment else None,
        acute=case.acute,
        wanted_services=filters.service_types or list(legal_basis.BY_CODE[case.legal_basis].typical_services))


SHOWN = 100   # the best offers the page lists; the heading says how many fit

SCAN_FILTERS = ("legal_basis", "target_group", "service", "vacancy", "approved", "framework", "max_km", "max_annual",
                "sort")


def _scan_args() -> dict[str, list[str]]:
    """The scan's filters from the query, kept on the shortlist's links; nothing else (a `case_id` or url_for's
    own `endpoint`, `_external`, `_scheme`, `_anchor` would break the link or send it elsewhere)."""
    return {name: values for name, values in request.args.lists() if name in SCAN_FILTERS}


@bp.route("/cases/<int:case_id>/market-scan")
def scan(case_id: int):
    case = load_case(case_id)
    filters = _filters(case)
    found = market_scan.scan(case, _needs(case, filters), filters, date.today(), best=SHOWN)
    page = render_template(
        "market/scan.html", case=case, rows=found.rows, total=found.total, filters=filters, texts=ScanTexts(),
        entries=shortlist.entries(case), can_edit=case.can_edit_shortlist(current_user),
        add_form=ShortlistAddForm(), note_form=ShortlistNoteForm(), remove_form=ShortlistRemoveForm(),
        scan_args=_scan_args(),
        legal_basis_options=legal_basis.choices(), target_groups=TARGET_GROUPS, service_types=SERVICE_TYPES)
    # Logged and committed once the page is made, before it is sent: the log row's write holds SQLite's lock
    # only until the commit right after it, and the commit does not expire the case the template reads.
    cases.log_access(current_user, case, "market_scan.view", "Markedsafdækning")
    db.session.commit()
    return page


def _back(case):
    return redirect(url_for("market.scan", case_id=case.id, **_scan_args()) + "#kortliste")


@bp.route("/cases/<int:case_id>/shortlist", methods=["POST"])
def add(case_id: int):
    case = load_case(case_id)
    form = ShortlistAddForm()
    if not form.validate_on_submit():
        flash(_("Choose an offer to shortlist."), "error")
        return _back(case)
    offer = db.session.get(Offer, form.offer_id.data)
    if offer is None:
        abort(404)
    try:
        shortlist.add(case, offer, current_user, form.note.data or "", form.score.data)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("%(offer)s is on the shortlist.", offer=offer.name), "success")
    return _back(case)



@bp.route("/cases/<int:case_id>/shortlist/<int:entry_id>/note", methods=["POST"])
def note(case_id: int, entry_id: int):
    case = load_case(case_id)
    entry = load_of_case(ShortlistEntry, entry_id, case)
    form = ShortlistNoteForm()
    if form.validate_on_submit():
        try:
            shortlist.update_note(case, entry, current_user, form.note.data or "")
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The note is saved."), "success")
    return _back(case)


@bp.route("/cases/<int:case_id>/shortlist/<int:entry_id>/remove", methods=["POST"])
def remove(case_id: int, entry_id: int):
    case = load_case(case_id)
    entry = load_of_case(ShortlistEntry, entry_id, case)
    if ShortlistRemoveForm().validate_on_submit():
        try:
            shortlist.remove(case, entry, current_user)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The offer is removed from the shortlist."), "success")
    return _back(case)
