"""Property-based fuzzing of every form of the pages, with hypothesis.

Each POST route of the app map outside /api/ (the API has its own run in tests/api/test_api_schemathesis.py)
is posted to as users who may use it, against real objects built in the right stage. The posted data comes
from the route's WTForms class: every declared field (and FieldList entries at ragged indexes) gets either
the value the page's own form carries, a value generated for its type (text with control characters, NUL,
lone surrogates and huge strings; numbers that overflow or are written the Danish way; impossible dates;
choices that are not offered; random bytes for files), or nothing at all, plus random extra fields.

No answer may be a server error, and a refused submission (4xx, a page with errors, or a redirect that
flashes an error) must leave the database as it was. Accepted ones may change the objects: the next
example then starts from the page as it is now. The examples are derandomized, so a run is repeatable.
"""
from __future__ import annotations

import hashlib
import html
import io
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask_wtf.file import FileField
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    FloatField,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
)
from wtforms.csrf.core import CSRFTokenField

from tests.conftest import PASSWORD, Client, csrf_token, is_api
from tests.factories import make_case
from tests.support.contracts import build_terms_case, draft_contract, submitted
from tests.support.dialogue import build_dialogue_case, new_offer, reply, save_requirement, send
from tests.support.running import approved_case, follow_up_input, running_case
from workflow import clock
from workflow.admin.forms import (
    AccessExtractDownloadForm,
    AccessExtractForm,
    NewUserForm,
    ResetPasswordForm,
    SettingsForm,
    UnitForm,
    UserForm,
)
from workflow.auth.forms import ApiTokenForm, ChangePasswordForm, LanguageForm, SignInForm
from workflow.cases.forms import (
    CaseDetailsForm,
    CommentForm,
    CprSearchForm,
    NeedsForm,
    NewCaseForm,
    ReasonForm,
    StepForm,
    TeamForm,
)
from workflow.contracts.forms import DecisionForm, RejectForm, TermsForm
from workflow.dialogue.forms import ChooseForm, ManualReplyForm, NoteForm, ReplyForm, RequirementForm, SendForm
from workflow.extensions import db as _db
from workflow.followup.forms import DeliveryForm, EndingForm, FollowUpForm, SupplierSideForm
from workflow.forms import DanishDateField, MoneyField, PlainForm, VersionField
from workflow.market.forms import ShortlistAddForm, ShortlistNoteForm, ShortlistRemoveForm
from workflow.models import FollowUp, ShortlistEntry
from workflow.offers.forms import ImportForm, OfferForm, SupplierForm
from workflow.process import Event, Stage
from workflow.services import access_extract, api_tokens, followup, offer_import, passwords

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("outbox")]

TODAY = date.today()
EXAMPLES = 50  # per route; about 2,100 in all
EXAMPLE_CSV = Path(__file__).parent.parent / "data" / "offers-example.csv"
# Rows that may change although the submission was refused: every read of citizen data is logged, failed
# sign-ins and wrong reply links are counted, and each request touches the server-side session.
BOOKKEEPING = {"access_log", "login_attempts", "user_sessions"}


# --- The objects each form points at ---------------------------------------------------------------------------

def _new_case(app, staff) -> dict:
    case = make_case(staff.caseworker, procurement=staff.procurement, economy=staff.economy)
    return {"case_id": case.id}


def _market_scan(app, staff) -> dict:
    built = build_dialogue_case(staff, to_dialogue=False)
    new_offer("Nyt Tilbud", "Nyt Tilbud ApS", "nyt@leverandoer.example", "2100")
    _db.session.commit()
    entry = _db.session.scalar(select(ShortlistEntry).where(ShortlistEntry.case_id == built.case.id)
                               .order_by(ShortlistEntry.id))
    return {"case_id": built.case.id, "entry_id": entry.id}


REPLY_TOKEN = "fuzzing-reply-token-that-is-long-enough-to-look-real"


def _dialogue(app, staff) -> dict:
    """In the dialogue: two of three shortlisted offers asked, one has replied; a known link for one."""
    built = build_dialogue_case(staff)
    save_requirement(built.case, staff.procurement)
    offers = list(built.offers.values())
    asked = send(app, built.case, staff.procurement, [offers[0].id, offers[1].id])
    reply(asked[0], "2400", earliest_start=TODAY + timedelta(days=60), additional_services="", conditions="",
          contact_name="Lise", contact_phone="")
    asked[1].token_hash = hashlib.sha256(REPLY_TOKEN.encode()).hexdigest()
    _db.session.commit()
    return {"case_id": built.case.id, "inquiry_id": asked[0].id, "token": REPLY_TOKEN}


def _terms(app, staff) -> dict:
    return {"case_id": build_terms_case(app, staff).id}


def _draft(app, staff) -> dict:
    case = build_terms_case(app, staff)
    draft_contract(case, staff)
    return {"case_id": case.id}


def _submitted(app, staff) -> dict:
    case = build_terms_case(app, staff)
    submitted(case, staff)
    return {"case_id": case.id}


def _delivery(app, staff) -> dict:
    return {"case_id": approved_case(app, staff, TODAY).id}


def _running(app, staff) -> dict:
    case = running_case(app, staff, TODAY - timedelta(days=120))
    review = _db.session.scalar(select(FollowUp).where(FollowUp.case_id == case.id,
                                                       FollowUp.kind == "supplier_review"))
    return {"case_id": case.id, "follow_up_id": review.id}


def _ending(app, staff) -> dict:
    case = running_case(app, staff, TODAY - timedelta(days=120))
    followup.record(case, staff.caseworker, follow_up_input(
        case, TODAY - timedelta(days=5), "end", end_date=TODAY + timedelta(days=60), end_reason="Flytter"), TODAY)
    _db.session.commit()
    assert case.stage == Stage.ENDING
    return {"case_id": case.id}


def _admin_user(app, staff) -> dict:
    return {"user_id": staff.caseworker_other.id}


def _unit(app, staff) -> dict:
    return {"unit_id": staff.caseworker_other.unit_id}


def _supplier(app, staff) -> dict:
    offer = new_offer("Registertilbud", "Register ApS", "register@leverandoer.example", "2300")
    _db.session.commit()
    return {"supplier_id": offer.supplier_id, "offer_id": offer.id}


def _import(app, staff) -> dict:
    batch = offer_import.store_for_preview("offers.csv", EXAMPLE_CSV.read_text(encoding="utf-8"), staff.procurement)
    _db.session.commit()
    return {"import_id": batch.id}


def _token(app, staff) -> dict:
    made = api_tokens.create(staff.caseworker, "Sagssystemet", None, clock.today())
    _db.session.commit()
    return {"token_id": made.token.id}


def _nothing(app, staff) -> dict:
    return {}


EXTRACT_CPR = "0101901234"


def _citizen(app, staff) -> dict:
    make_case(staff.caseworker, cpr=EXTRACT_CPR)
    return {}


def _extract(app, staff) -> dict:
    """The results page's download form only shows after a search: its values, as that page would carry them."""
    case = make_case(staff.caseworker, cpr=EXTRACT_CPR)
    with app.test_request_context():
        token = access_extract.download_token(staff.admin, case.citizen)
    return {BASE: [("token", token), ("format", "csv")]}


# --- The routes ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    """How to fuzz one POST route: its form, who posts, what it points at and where its form is shown."""

    form: type
    logins: tuple[str, ...]             # users who may use it; "" is an anonymous visitor
    setup: Callable[..., dict] = _nothing  # builds the objects and returns the URL's arguments
    page: str | None = "{url}"          # the page with the form (None: no page shows it)
    segment: tuple[str, ...] = ()       # values for the rule's action/event argument
    extra: tuple[str, ...] = ()         # further names the view reads from the form
    fresh_client: bool = False          # a new client per example (sign-in and sign-out)
    examples: int = EXAMPLES
    bookkeeping: tuple[str, ...] = ()   # further tables a refusal writes to, on purpose
    fill: dict[str, str] = field(default_factory=dict)  # valid values where the page's form is empty


DAY = TODAY.strftime("%d-%m-%Y")
YESTERDAY = (TODAY - timedelta(days=1)).strftime("%d-%m-%Y")
NEW_PASSWORD = "a-new-password-long-enough"
REPLY = {"can_deliver": "yes", "earliest_start": (TODAY + timedelta(days=30)).strftime("%d-%m-%Y"),
         "lines-0-description": "Døgntakst", "lines-0-unit_price": "2.400,00", "lines-0-quantity": "1",
         "contact_name": "Lise Leverandør", "contact_email": "lise@leverandoer.example"}
CASE_PAGE = "/cases/{case_id}"
SCAN_PAGE = "/cases/{case_id}/market-scan"
STEP_EVENTS = ("cancel", *(event.value for event in Event if event != Event.CANCEL))  # the first has a page
FUZZ_STAFF = ("caseworker", "manager")

ROUTES: dict[str, Route] = {
    "/login": Route(SignInForm, ("",), fresh_client=True, bookkeeping=("audit_events",)),  # failures are audited
    "/logout": Route(PlainForm, ("caseworker",), page="/", fresh_client=True, examples=30),
    "/language": Route(LanguageForm, ("", "caseworker"), page="/login"),
    "/profile": Route(ChangePasswordForm, ("caseworker",),
                      fill={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    "/profile/tokens": Route(ApiTokenForm, ("caseworker",), page="/profile", fill={"name": "Sagssystemet"}),
    "/profile/tokens/<int(max=2147483647):token_id>/revoke": Route(PlainForm, ("caseworker",), _token,
                                                                   page="/profile", examples=30),
    "/admin/settings": Route(SettingsForm, ("admin",)),
    "/admin/units/new": Route(UnitForm, ("admin",), fill={"name": "Socialpsykiatri"}),
    "/admin/units/<int:unit_id>": Route(UnitForm, ("admin",), _unit),
    "/admin/users/new": Route(NewUserForm, ("admin",), fill={
        "login": "ny.bruger", "full_name": "Ny Bruger", "email": "ny@example.org", "password": NEW_PASSWORD}),
    "/admin/users/<int:user_id>": Route(UserForm, ("admin",), _admin_user),
    "/admin/users/<int:user_id>/password": Route(ResetPasswordForm, ("admin",), _admin_user,
                                                 page="/admin/users/{user_id}"),
    "/admin/access-extract": Route(AccessExtractForm, ("admin",), _citizen, examples=40),
    "/admin/access-extract/download": Route(AccessExtractDownloadForm, ("admin",), _extract, page=None,
                                            examples=20),
    "/cases/new": Route(NewCaseForm, ("caseworker",), fill={
        "cpr": "020285-4321", "citizen_name": "Jens Hansen", "home_municipality": "101", "legal_basis": "SEL-108",
        "target_group": "intellectual_disability"}),
    "/cases/search": Route(CprSearchForm, FUZZ_STAFF, page="/cases", fill={"cpr": "010180-1000"}),
    "/cases/<int:case_id>/cpr": Route(StepForm, ("caseworker",), _new_case, page=CASE_PAGE, examples=30),
    "/cases/<int:case_id>/comments": Route(CommentForm, ("caseworker", "procurement"), _new_case, page=CASE_PAGE,
                                           fill={"body": "Ringet til pårørende"}),
    "/cases/<int:case_id>/details": Route(CaseDetailsForm, ("caseworker",), _new_case),
    "/cases/<int:case_id>/needs": Route(NeedsForm, ("caseworker",), _new_case, extra=("add_goal",)),
    "/cases/<int:case_id>/team": Route(TeamForm, FUZZ_STAFF, _new_case),
    "/cases/<int:case_id>/steps/<event>": Route(ReasonForm, FUZZ_STAFF, _new_case,
                                                page="/cases/{case_id}/steps/cancel", segment=STEP_EVENTS),
    "/cases/<int:case_id>/shortlist": Route(ShortlistAddForm, ("caseworker", "procurement"), _market_scan,
                                            page=SCAN_PAGE),
    "/cases/<int:case_id>/shortlist/<int:entry_id>/note": Route(ShortlistNoteForm, ("caseworker",), _market_scan,
                                                                page=SCAN_PAGE),
    "/cases/<int:case_id>/shortlist/<int:entry_id>/remove": Route(ShortlistRemoveForm, ("caseworker",),
                                                                  _market_scan, page=SCAN_PAGE, examples=30),
    "/cases/<int:case_id>/dialogue/requirement": Route(RequirementForm, ("procurement",), _dialogue),
    "/cases/<int:case_id>/dialogue/send": Route(SendForm, ("procurement",), _dialogue,
                                                page="/cases/{case_id}/dialogue"),
    "/cases/<int:case_id>/dialogue/inquiries/<int:inquiry_id>": Route(ManualReplyForm, ("procurement",), _dialogue,
                                                                      fill=REPLY),
    "/cases/<int:case_id>/dialogue/inquiries/<int:inquiry_id>/<action>": Route(
        NoteForm, ("procurement",), _dialogue, page="/cases/{case_id}/dialogue/inquiries/{inquiry_id}",
        segment=("note", "revoke", "unseal", "prefer", "unprefer", "resend"), extra=("back",)),
    "/cases/<int:case_id>/dialogue/comparison": Route(ChooseForm, ("procurement",), _dialogue,
                                                      fill={"inquiry_id": "{inquiry_id}", "justification": "Bedst"}),
    "/reply/<token>": Route(ReplyForm, ("",), _dialogue, fill=REPLY),
    "/cases/<int:case_id>/contract/start": Route(PlainForm, ("procurement",), _terms,
                                                 page="/cases/{case_id}/contract", examples=30),
    "/cases/<int:case_id>/contract": Route(TermsForm, ("procurement", "economy"), _draft),
    "/cases/<int:case_id>/contract/<action>": Route(DecisionForm, ("procurement", "economy", "manager"), _draft,
                                                    page="/cases/{case_id}/contract",
                                                    segment=("submit", "review", "approve")),
    "/cases/<int:case_id>/contract/reject": Route(RejectForm, ("economy", "manager"), _submitted,
                                                  fill={"reason": "Prisen er for høj"}),
    "/cases/<int:case_id>/delivery": Route(DeliveryForm, ("caseworker", "procurement"), _delivery,
                                           fill={"started_on": YESTERDAY}),
    "/cases/<int:case_id>/followup/record": Route(FollowUpForm, ("caseworker",), _running, fill={
        "participants": "Borgeren og kontaktpersonen", "outcome": "continue", "scores-0-score": "partly",
        "scores-1-score": "achieved"}),
    "/cases/<int:case_id>/followup/<int:follow_up_id>/supplier": Route(
        SupplierSideForm, ("procurement", "economy"), _running,
        fill={"held_on": DAY, "reports_received": "yes", "quality": "good"}),
    "/cases/<int:case_id>/ending": Route(EndingForm, ("caseworker", "economy"), _ending),
    "/offers/new": Route(OfferForm, ("procurement", "admin"), _supplier, fill={
        "key": "TP-9", "name": "Nyt Botilbud", "municipality": "101", "legal_bases": "SEL-108", "places": "10",
        "vacancies": "1", "list_price": "2.000,00", "price_effective_from": "01-01-2026", "data_updated_on": DAY,
        "approved_on": "15-03-2019"}),
    "/offers/<int:offer_id>/edit": Route(OfferForm, ("procurement",), _supplier),
    "/offers/suppliers/new": Route(SupplierForm, ("procurement",),
                                   fill={"name": "Ny Leverandør ApS", "cvr": "12345678"}),
    "/offers/suppliers/<int:supplier_id>/edit": Route(SupplierForm, ("procurement", "admin"), _supplier),
    "/offers/import": Route(ImportForm, ("procurement", "admin")),
    "/offers/import/<int:import_id>": Route(PlainForm, ("procurement",), _import, examples=20),
}


def page_post_rules(app) -> dict[str, object]:
    return {rule.rule: rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and not is_api(rule)
            and not rule.rule.startswith("/api/")}


def test_every_post_form_of_the_pages_is_fuzzed(app):
    """A new POST route needs an entry here (its form, who posts and what it points at)."""
    rules = page_post_rules(app)
    assert sorted(set(rules) - set(ROUTES)) == [], "POST routes without a fuzzing entry"
    assert sorted(set(ROUTES) - set(rules)) == [], "fuzzing entries for routes that no longer exist"


# --- Values by field type --------------------------------------------------------------------------------------

KEEP = object()  # the value the page's own form carries now
BASE = "_base"   # a setup's values for a form that no page shows before a submission

FORGED_LOG_LINE = "x\n2026-11-26 12:00:00 INFO workflow.auth: admin signed in"
ODD_TEXT = ("", " ", "\x00", "a\x00b", "\r\n", FORGED_LOG_LINE, "<script>alert(1)</script>", "' OR 1=1 --",
            "\u202egnp.exe", "\ufeff", "%00", "../../etc/passwd", "{{ 7*7 }}", "😀" * 60, "ø" * 301,
            "x" * 5001, "y" * 100_000, "\ud800", "a\udfffb", "\x1b[31mred", "\u2028\u2029\x85", "NULL", "None",
            "-1", "0", "1" * 40)
ODD_NUMBERS = ("0", "-0", "+5", " 7 ", "1e999", "-1e999", "1e3", "NaN", "nan", "Infinity", "-inf", "0x10",
               "1.000.000", "1.234,50", "1,5", "1 234", "1_000", "１２３", "٣", "99999999999999999999999",
               "-99999999999999999999", "2147483648", "9223372036854775808", "0.1", ".5", "5.", "1,000,000",
               "1.5e2", "500.000", "1.234.567,891", "12,345", "1 234,50 kr.", "-1.234,50", "kr.", "")
ODD_DATES = ("31-02-2026", "29-02-2025", "29-02-2028", "00-00-0000", "01-01-0000", "01-01-0001", "31-12-9999",
             "9999-12-31", "0000-01-01", "1-1-1", "32-01-2026", "01-13-2026", "26/11/2026", "26.11.2026",
             "today", "-1-01-2026", "01-01-99999", "１２-１２-２０２６", "2026-11-26T10:00", "26-11-26",
             "31-12-1899", "01-01-2201", "")
JUNK_CHOICES = ("", "0", "-1", "999999", "x", "None", "on", "2147483648", "1e3", " 1", "ø")
RAGGED_INDEXES = ("0", "1", "3", "5", "11", "12", "29", "30", "31", "999", "-1", "x", "00", "1e3", " 1", "")
HINTS = {  # values that get a submission past the form, so that the services behind it are reached too
    "cpr": ("010190-1234", "0101901234", "710190-1234", "300290-1234"),
    "login": ("caseworker", "admin", "CaseWorker "),
    "password": (PASSWORD, "a-new-password-long-enough", "password"),
    "current_password": (PASSWORD,),
    "confirm": ("a-new-password-long-enough",),
    "email": ("a@example.org",),
    "contact_email": ("a@example.org",),
    "language": ("en", "da", "de"),
    "next": ("/", "//evil.example", "https://evil.example/", "/\\evil", "/cases?x=1"),
    "format": ("csv", "pdf", "xlsx"),
    "back": ("compare", "x"),
    "cvr": ("12345678", "1234567", "abcdefgh"),
    "ean": ("5790001234567", "579000123456x"),
    "key": ("TP-1", "K-Registertilbud"),
    "channel": ("phone", "e-mail", "letter"),
}


def _near_day() -> st.SearchStrategy[str]:
    return st.integers(-800, 800).map(lambda days: (TODAY + timedelta(days=days)).strftime("%d-%m-%Y"))


def text_values() -> st.SearchStrategy:
    return st.one_of(st.text(max_size=30), st.sampled_from(ODD_TEXT), st.text(max_size=300))


def number_values() -> st.SearchStrategy:
    return st.one_of(st.integers(-1000, 1000).map(str), st.integers(-10**6, 10**6).map(str),
                     st.sampled_from(ODD_NUMBERS), st.decimals(places=2, min_value=-10**7, max_value=10**7).map(str),
                     st.floats().map(str), st.text(max_size=8))


def date_values() -> st.SearchStrategy:
    return st.one_of(_near_day(), st.sampled_from(ODD_DATES),
                     st.dates().map(lambda day: day.strftime("%d-%m-") + f"{day.year:04d}"),
                     st.dates().map(lambda day: f"{day.year:04d}-{day.month:02d}-{day.day:02d}"),
                     st.text(max_size=12))


def boolean_values() -> st.SearchStrategy:
    return st.sampled_from(("y", "on", "true", "1", "0", "", "false", "no", "yes", "ø", "\x00"))


def file_values() -> st.SearchStrategy:
    content = st.one_of(st.binary(max_size=3000), st.just(EXAMPLE_CSV.read_bytes()),
                        st.text(max_size=500).map(lambda text: text.encode("utf-8", "surrogatepass")),
                        st.sampled_from((b"", b"\x00" * 100, b"\xff\xfe" + "a;b\n".encode("utf-16-le"),
                                         b"key;offer_name\n" + b"x;y\n" * 3000)))
    name = st.sampled_from(("offers.csv", "offers.txt", "offers.exe", "../../offers.csv", "a\x00.csv", "ø.csv",
                            "", "offers.CSV", "x" * 300 + ".csv", "a\nb.csv"))
    return st.tuples(content, name).map(lambda pair: FileUpload(*pair))


@dataclass(frozen=True)
class FileUpload:
    content: bytes
    filename: str


def _choices_of(bound) -> list[str]:
    choices = getattr(bound, "choices", None) or []
    if callable(choices):
        choices = choices()
    values = []
    for choice in choices:
        value = choice[0] if isinstance(choice, tuple | list) else getattr(choice, "value", choice)
        values.append(str(value))
    return values


def values_for(bound, name: str) -> st.SearchStrategy:
    """Generated values for one field, by its type; a list of values for a multiple choice."""
    short = name.rsplit("-", 1)[-1]
    hints = HINTS.get(short)
    if isinstance(bound, FileField):
        return file_values()
    if isinstance(bound, SelectMultipleField):
        options = st.sampled_from(_choices_of(bound) or list(JUNK_CHOICES))
        return st.lists(st.one_of(options, options, st.sampled_from(JUNK_CHOICES), st.integers(0, 40).map(str)),
                        max_size=5)
    if isinstance(bound, SelectField | RadioField):
        offered = _choices_of(bound)
        parts = [st.sampled_from(JUNK_CHOICES), st.integers(-1, 40).map(str), text_values()]
        if offered:
            parts = [st.sampled_from(offered)] * 3 + parts
        return st.one_of(*parts)
    if isinstance(bound, BooleanField):
        strategy = boolean_values()
    elif isinstance(bound, MoneyField | IntegerField | DecimalField | FloatField):
        strategy = number_values()
    elif isinstance(bound, DanishDateField | DateField):
        strategy = date_values()
    elif isinstance(bound, VersionField):
        strategy = st.one_of(st.integers(0, 5).map(str), st.sampled_from(ODD_NUMBERS), text_values())
    else:
        strategy = text_values()
    if hints:
        strategy = st.one_of(st.sampled_from(hints), st.sampled_from(hints), strategy)
    return strategy


def declared_fields(app, form_class) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    """The form's fields by name, and the fields of each FieldList's entry form by the list's name."""
    with app.test_request_context():
        form = form_class(formdata=None, meta={"csrf": False})
        plain, lists = {}, {}
        for bound in form:
            if isinstance(bound, CSRFTokenField):
                continue
            if isinstance(bound, FieldList):
                inner = bound.unbound_field.args[0] if bound.unbound_field.args else None
                if isinstance(inner, type):
                    entry = inner(formdata=None, meta={"csrf": False})
                    lists[bound.name] = {sub.short_name: sub for sub in entry if not isinstance(sub, CSRFTokenField)}
                continue
            if isinstance(bound, FormField):
                for sub in bound.form:
                    plain[f"{bound.name}-{sub.short_name}"] = sub
                continue
            plain[bound.name] = bound
    return plain, lists


@dataclass
class FormPlan:
    """What to post, before the current page's values are filled in for KEEP."""

    fields: dict[str, object]
    extra: list[tuple[str, object]] = field(default_factory=list)


def form_data(app, route: Route) -> st.SearchStrategy[FormPlan]:
    """Either a few fields changed and the rest as the page has them (so that the services behind the form
    are reached), or every field kept, changed or left out at random."""
    plain, lists = declared_fields(app, route.form)
    changed = {name: st.one_of(values_for(bound, name), st.none()) for name, bound in plain.items()}
    for list_name, subfields in lists.items():
        for index in range(3):
            for short, bound in subfields.items():
                changed[f"{list_name}-{index}-{short}"] = st.one_of(values_for(bound, short), st.none())
    names = sorted(changed)
    wild = st.fixed_dictionaries({name: st.one_of(st.just(KEEP), value) for name, value in changed.items()})
    focused = st.lists(st.sampled_from(names), max_size=3, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({name: changed[name] if name in chosen else st.just(KEEP)
                                              for name in names})) if names else st.just({})
    ragged = [st.tuples(st.sampled_from(RAGGED_INDEXES), st.sampled_from(sorted(subfields)),
                        st.just(list_name)).flatmap(
        lambda parts, subfields=subfields: values_for(subfields[parts[1]], parts[1]).map(
            lambda value, parts=parts: (f"{parts[2]}-{parts[0]}-{parts[1]}", value)))
        for list_name, subfields in lists.items() if subfields]
    extra_names = st.one_of(st.text(max_size=20), st.sampled_from(
        ("id", "version", "case_id", "role", "stage", "is_admin", "owner_id", "unit_id", "csrf_token",
         "lines-999-price", "goals-999-text", "themes--1-level", "scores-0-goal_id", *route.extra)))
    extras = st.lists(st.one_of(st.tuples(extra_names, text_values()), *ragged), max_size=4)
    return st.builds(FormPlan, st.one_of(focused, wild), st.one_of(st.just([]), extras))


# --- Posting and judging -----------------------------------------------------------------------------------------

FORM_TAG = re.compile(r"<form\b[^>]*>.*?</form>", re.S)
INPUT = re.compile(r"<input\b[^>]*>")
TEXTAREA = re.compile(r'<textarea\b[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', re.S)
SELECT = re.compile(r'<select\b([^>]*)>(.*?)</select>', re.S)
OPTION = re.compile(r"<option\b([^>]*)>", re.S)
ATTRIBUTE = re.compile(r'([\w-]+)(?:="([^"]*)")?')


def _attributes(tag: str) -> dict[str, str]:
    return {name: html.unescape(value or "") for name, value in ATTRIBUTE.findall(tag[tag.index(" "):])} \
        if " " in tag else {}


def form_on_page(page: str, page_url: str, action: str) -> list[tuple[str, str]] | None:
    """What a browser would submit from the page's form posting to `action` (None: no such form)."""
    for match in FORM_TAG.finditer(page):
        block = match.group(0)
        start = _attributes(block[:block.index(">")])
        if (start.get("action") or page_url).split("#")[0].split("?")[0] != action:
            continue
        pairs = []
        for tag in INPUT.findall(block):
            attrs = _attributes(tag)
            kind = attrs.get("type", "text")
            if "name" not in attrs or kind in ("submit", "button", "reset", "file", "image"):
                continue
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                continue
            pairs.append((attrs["name"], attrs.get("value", "on" if kind == "checkbox" else "")))
        for name, body in TEXTAREA.findall(block):
            pairs.append((html.unescape(name), html.unescape(body).removeprefix("\r\n").removeprefix("\n")))
        for select_attrs, body in SELECT.findall(block):
            attrs = _attributes("<select " + select_attrs)
            options = [_attributes("<option " + option) for option in OPTION.findall(body)]
            chosen = [option for option in options if "selected" in option] or options[:1]
            if "multiple" not in attrs:
                chosen = chosen[:1]
            pairs.extend((attrs["name"], option.get("value", "")) for option in chosen if "name" in attrs)
        return pairs
    return None


def checksum(also_skipped: tuple[str, ...] = ()) -> str:
    """Every row of every table except the bookkeeping ones, in primary-key order."""
    tables = [table for table in _db.metadata.sorted_tables
              if table.name not in BOOKKEEPING and table.name not in also_skipped]
    digest = hashlib.sha256()
    with _db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":  # one round trip: each table's rows as text, hashed there
            digest.update(repr(connection.execute(text(" UNION ALL ".join(
                f"SELECT '{table.name}', md5(coalesce(string_agg(r::text, '|' ORDER BY "
                + ", ".join(f'r."{column.name}"' for column in table.primary_key.columns)
                + f"), '')) FROM \"{table.name}\" AS r" for table in tables))).all()).encode())
            return digest.hexdigest()
        for table in tables:
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest.update(repr((table.name, rows)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


ERROR_MARKS = ('class="alert alert-error"', 'class="form-error-message"')


def _take_flashes(client: Client) -> list[tuple[str, str]]:
    with client.raw.session_transaction() as session:
        return session.pop("_flashes", [])


def refused(client: Client, response) -> bool:
    """A 4xx, a page with an error, or a redirect that flashes one."""
    flashes = _take_flashes(client)
    if response.status_code >= 400:
        return True
    if any(category == "error" for category, _message in flashes):
        return True
    return (response.status_code == 200 and response.mimetype == "text/html"
            and any(mark in response.get_data(as_text=True) for mark in ERROR_MARKS))


def _pairs(plan: FormPlan, base: MultiDict) -> list[tuple[str, object]]:
    pairs: list[tuple[str, object]] = []
    for name, value in plan.fields.items():
        if value is KEEP:
            pairs.extend((name, kept) for kept in base.getlist(name))
        elif isinstance(value, list):
            pairs.extend((name, each) for each in value)
        elif value is not None:
            pairs.append((name, value))
    declared = set(plan.fields)
    pairs.extend((name, value) for name, value in base.items(multi=True) if name not in declared)
    pairs.extend(plan.extra)
    return pairs


def _body(pairs: list[tuple[str, object]], token: str) -> dict:
    """Keyword arguments for the test client: urlencoded (lone surrogates as their raw bytes) or multipart."""
    pairs = [("csrf_token", token), *pairs]
    if any(isinstance(value, FileUpload) for _name, value in pairs):
        data = MultiDict()
        for name, value in pairs:
            if isinstance(value, FileUpload):
                data.add(name, (io.BytesIO(value.content), value.filename.encode("utf-8", "replace").decode()))
            else:
                data.add(name.encode("utf-8", "replace").decode(), str(value).encode("utf-8", "replace").decode())
        return {"data": data, "content_type": "multipart/form-data"}
    body = urllib.parse.urlencode([(name, str(value)) for name, value in pairs], encoding="utf-8",
                                  errors="surrogatepass")
    return {"data": body, "content_type": "application/x-www-form-urlencoded"}


class Poster:
    """Signed-in clients per login, the page's current form, and the posting of one example."""

    def __init__(self, app, make_client, route: Route, rule, values: dict):
        self.app, self.make_client, self.route, self.rule, self.values = app, make_client, route, rule, values
        self.clients = {} if route.fresh_client else {login: make_client(login or None) for login in route.logins}
        self.tokens: dict[str, str] = {}
        self.state: str | None = None  # the checksum after the last example
        self.base: MultiDict = MultiDict()
        self.refresh()

    def url(self, segment: str | None) -> str:
        values = {name: value for name, value in self.values.items() if name in self.rule.arguments}
        if self.route.segment:
            name = next(arg for arg in self.rule.arguments if arg not in values)
            values[name] = segment
        return self.rule.build(values)[1]

    def page_url(self) -> str | None:
        return self.route.page.format(url=self.url(self.route.segment[0] if self.route.segment else None),
                                      **self.values) if self.route.page else None

    def refresh(self) -> None:
        """The values the page's form carries now (after an accepted submission changed the object)."""
        page_url = self.page_url()
        if page_url is None:
            self.base = MultiDict(self.values.get(BASE, []))
            return
        client = self.client(self.route.logins[0])
        page = client.get(page_url)
        assert page.status_code < 500, page_url
        found = form_on_page(page.get_data(as_text=True), page_url,
                             self.url(self.route.segment[0] if self.route.segment else None))
        if found is None:  # gone after a submission (a step taken): post what it held before
            assert self.state is not None, f"no form posting to {self.rule.rule} on {page_url}"
            return
        self.base = MultiDict([(name, value) for name, value in found if name != "csrf_token"])
        for name, value in self.route.fill.items():
            if not any(self.base.getlist(name)):
                self.base.setlist(name, [value.format(**self.values)])

    def client(self, login: str) -> Client:
        if self.route.fresh_client:
            return self.make_client(login or None)
        return self.clients[login]

    def token(self, login: str, client: Client) -> str:
        """The session's CSRF token; it stays valid as long as the session (a fresh client needs its own)."""
        if self.route.fresh_client or login not in self.tokens:
            self.tokens[login] = csrf_token(client.get("/login" if not login else "/profile"))
        return self.tokens[login]

    def post(self, login: str, segment: str | None, plan: FormPlan) -> None:
        client = self.client(login)
        token = self.token(login, client)
        _take_flashes(client)
        if self.state is None or self.route.fresh_client:  # signing in writes to the audit trail
            self.state = checksum(self.route.bookkeeping)
        url, pairs = self.url(segment), _pairs(plan, self.base)
        note(f"{login or 'anonymous'} POST {url} {_shown(pairs)}")
        response = client.post(url, **_body(pairs, token))
        assert response.status_code < 500, f"{response.status_code} from {url}"
        before, self.state = self.state, checksum(self.route.bookkeeping)
        if refused(client, response):
            assert self.state == before, f"{url} refused the submission ({response.status_code}) but changed data"
        elif self.state != before:
            self.refresh()


def _shown(pairs: list[tuple[str, object]]) -> str:
    return repr([(name[:60], value if isinstance(value, FileUpload) else str(value)[:80]) for name, value in pairs])


_hashes: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _hash_each_password_once(monkeypatch):
    """Every test here signs up the same twelve users with the same password: argon2, slow by design, runs
    once per password for the whole module (a hash verifies whichever user holds it)."""
    original = passwords.hash_password

    def hash_once(password: str) -> str:
        if password not in _hashes:
            _hashes[password] = original(password)
        return _hashes[password]
    monkeypatch.setattr(passwords, "hash_password", hash_once)


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_a_form_never_fails_and_a_refused_one_changes_nothing(app, db, staff, make_client, path):
    route = ROUTES[path]
    rule = page_post_rules(app)[path]
    values = route.setup(app, staff)
    poster = Poster(app, make_client, route, rule, values)
    plain, lists = declared_fields(app, route.form)
    declared = {*plain, *route.extra, *(f"{name}-N-{sub}" for name, subs in lists.items() for sub in subs)}
    shown = {re.sub(r"-\d+-", "-N-", name) for name in poster.base}
    assert shown <= declared, f"the page's form has fields that {route.form.__name__} does not declare"
    segments = st.sampled_from(route.segment + ("nope", "SUBMIT", "ø")) if route.segment else st.none()

    @settings(max_examples=route.examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(login=st.sampled_from(route.logins), segment=segments, plan=form_data(app, route))
    def run(login, segment, plan):
        poster.post(login, segment, plan)
    run()
