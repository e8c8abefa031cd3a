"""Administration of users, units and settings: admins only, audited, no lost updates."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import get_user
from workflow.models import AppendOnlyError, AuditEvent, Role, UserSession
from workflow.services import settings

ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/units", "/admin/units/new", "/admin/settings",
               "/admin/audit"]


@pytest.mark.parametrize("role", [role.value for role in Role])
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_are_for_admins_only(staff, make_client, role, page):
    response = make_client(role).get(page)
    assert response.status_code == (200 if role == "admin" else 403)


def _user_form(user, **changes):
    data = {"version": user.version, "full_name": user.full_name, "email": user.email, "role": user.role,
            "unit_id": user.unit_id, "approval_limit": "", "active": "y"}
    data.update(changes)
    return data


def test_admin_creates_a_user_who_can_sign_in(staff, make_client, db):
    admin = make_client("admin")
    response = admin.submit("/admin/users/new", {
        "login": "Ny.Leder", "full_name": "Nina Ny", "email": "nina@example.org", "role": "manager",
        "unit_id": staff.caseworker.unit_id, "approval_limit": "750.000,00", "password": "en god lang adgangskode",
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    user = get_user("ny.leder")
    assert user.approval_limit == Decimal("750000.00")
    make_client().sign_in("ny.leder", "en god lang adgangskode")
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "user.created")).all()[-1]
    assert event.actor_id == staff.admin.id and event.details["login"] == "ny.leder"


def test_bad_input_gets_messages_and_changes_nothing(staff, make_client, db):
    admin = make_client("admin")
    before = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))
    response = admin.submit("/admin/users/new", {
        "login": "caseworker", "full_name": "", "email": "not-an-email", "role": "boss",
        "unit_id": "abc", "approval_limit": "mange penge", "password": "short",
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Der er et problem" in body
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == before


def test_duplicate_login_and_weak_password_are_refused(staff, make_client):
    admin = make_client("admin")
    for login, password in (("caseworker", "en god lang adgangskode"), ("someone", "password1234")):
        response = admin.submit("/admin/users/new", {
            "login": login, "full_name": "X", "email": "x@example.org", "role": "economy",
            "unit_id": staff.caseworker.unit_id, "password": password})
        assert response.status_code == 200
        assert "Der er et problem" in response.get_data(as_text=True)


def test_approval_limit_only_kept_for_managers(staff, make_client):
    admin = make_client("admin")
    user = staff.economy
    admin.submit(f"/admin/users/{user.id}", _user_form(user, approval_limit="100.000"))
    assert get_user("economy").approval_limit is None


def test_stale_user_edit_is_refused_with_409_and_keeps_input(staff, make_client, db):
    admin = make_client("admin")
    user = staff.caseworker
    old_version = user.version
    first = admin.submit(f"/admin/users/{user.id}", _user_form(user, full_name="Først Gemt"))
    assert first.status_code == 302
    second = admin.submit(f"/admin/users/{user.id}", _user_form(user, version=old_version, full_name="Sidst Skrevet"))
    assert second.status_code == 409
    assert "Sidst Skrevet" in second.get_data(as_text=True)
    db.session.expire_all()
    assert get_user("caseworker").full_name == "Først Gemt"


def test_reset_password_ends_the_users_sessions(staff, make_client, db):
    victim = make_client("economy")
    admin = make_client("admin")
    response = admin.submit(f"/admin/users/{staff.economy.id}/password", {"password": "helt ny adgangskode"},
                            form_page=f"/admin/users/{staff.economy.id}")
    assert response.status_code == 302
    assert victim.get("/").status_code == 302
    ended = db.session.scalars(db.select(UserSession.end_reason).where(UserSession.user_id == staff.economy.id))
    assert "password_reset" in list(ended)


def test_units_create_rename_and_refuse_deactivation_with_active_users(staff, make_client, db):
    admin = make_client("admin")
    assert admin.submit("/admin/units/new", {"name": "Handicap Syd"}).status_code == 302
    assert admin.submit("/admin/units/new", {"name": "handicap syd"}).status_code == 200  # duplicate
    unit = staff.caseworker.unit
    response = admin.submit(f"/admin/units/{unit.id}", {"version": unit.version, "name": unit.name})
    assert response.status_code == 200
    assert "aktive brugere" in response.get_data(as_text=True)


def test_settings_change_is_stored_and_audited(staff, make_client, db):
    admin = make_client("admin")
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert "Teamleder" in page
    data = {
        "approval_tiers-0-name": "Teamleder", "approval_tiers-0-limit": "400.000",
        "approval_tiers-1-name": "Afdelingsleder", "approval_tiers-1-limit": "2.000.000",
        "approval_tiers-2-name": "Direktør", "approval_tiers-2-limit": "",
        "followup_soon_days": "21", "offer_stale_months": "12", "inquiry_reply_business_days": "10",
        "retention_years": "5", "weight_price": "50", "weight_quality": "20", "weight_distance": "15",
        "weight_preference": "15", "eu_threshold_dkk": "5595000",
    }
    for index, basis in enumerate(settings.LEGAL_BASES):
        data[f"followup_intervals-{index}-code"] = basis.code
        data[f"followup_intervals-{index}-first_months"] = "2" if basis.code == "BL-46" else "3"
        data[f"followup_intervals-{index}-then_months"] = "12"
    assert admin.submit("/admin/settings", data).status_code == 302
    assert settings.get("followup_soon_days") == 21
    assert settings.get("approval_tiers")[0] == {"name": "Teamleder", "limit": "400000.00"}
    assert settings.get("followup_intervals")["BL-46"]["first_months"] == 2
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "setting.changed")
                              .order_by(AuditEvent.id))
    assert event.details["key"] in ("approval_tiers", "followup_intervals", "followup_soon_days")


@pytest.mark.parametrize("tiers", [
    [{"name": "A", "limit": "500000"}, {"name": "B", "limit": "400000"}, {"name": "C", "limit": None}],
    [{"name": "A", "limit": "500000"}],
    [{"name": "", "limit": None}],
])
def test_bad_tiers_are_refused(app_ctx, tiers):
    with pytest.raises(settings.ServiceError):
        settings.change("approval_tiers", tiers)


def test_audit_events_cannot_be_changed_or_deleted(staff, db):
    event = db.session.scalar(db.select(AuditEvent))
    event.action = "forged"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalar(db.select(AuditEvent)))
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
