"""The cases resource: list, open, read, needs assessment, steps."""
from __future__ import annotations

from tests.factories import make_case


def test_a_caseworker_opens_reads_and_lists_a_case(api, staff, db):
    caseworker = api("caseworker")
    created = caseworker.post("/cases", json={
        "cpr": "010180-1234", "citizen_name": "Jens Hansen", "home_municipality": "101",
        "legal_basis": "SEL-108", "target_group": "intellectual_disability", "budget_frame": "900000.00"})
    assert created.status_code == 201, created.json
    case = created.json
    assert case["citizen"]["cpr_masked"] == "010180-xxxx"
    assert "1234" not in created.get_data(as_text=True)
    assert created.headers["ETag"] == f'"case-{case["id"]}-{case["version"]}"'
    assert created.headers["Location"].endswith(f"/api/v1/cases/{case['id']}")
    read = caseworker.get(f"/cases/{case['id']}")
    assert read.status_code == 200 and read.json["budget_frame"] == "900000.00"
    listed = caseworker.get("/cases?scope=mine")
    assert [row["id"] for row in listed.json["items"]] == [case["id"]]
    assert api("caseworker_other").get(f"/cases/{case['id']}").status_code == 404


def test_needs_update_needs_if_match_and_refuses_a_stale_one(api, staff, db):
    case = make_case(staff.caseworker)
    caseworker = api("caseworker")
    path = f"/cases/{case.id}/needs"
    etag = caseworker.get(path).headers["ETag"]
    body = {"support_need": "high", "consent_to_contact_suppliers": True, "consent_date": "2026-11-01",
            "themes": [{"code": "self_care", "level": 2, "narrative": "Hjælp om morgenen"}],
            "goals": [{"goal_type": "develop", "text": "Handler selv ind", "measure": ""}]}
    assert caseworker.put(path, json=body).status_code == 428
    saved = caseworker.put(path, json=body, headers={"If-Match": etag})
    assert saved.status_code == 200, saved.json
    assert saved.json["themes"][0]["level"] == 2
    stale = caseworker.put(path, json=body, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["Content-Type"] == "application/problem+json"
