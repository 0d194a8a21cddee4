"""GET/POST /api/consents and DELETE /api/consents/{id}: a patient's own consents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
import time_machine

from models.consents.tables import PatientConsent
from portal.runtime import Services
from tests.support.audit import audit_entries

GRANTED = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
REVOKED = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)


def _rows(services: Services) -> list[PatientConsent]:
    with services.db.new_session() as session:
        return list(session.scalars(sa.select(PatientConsent)))


def test_a_patient_grants_lists_and_revokes_and_the_revocation_is_kept(
    client, services: Services, auth
):
    with time_machine.travel(GRANTED, tick=False):
        granted = client.post(
            "/api/consents",
            json={"type": "data_sharing", "details": "Sharing form v2"},
            headers=auth("patient1@example.com"),
        )
    assert granted.status_code == 201
    assert granted.headers["Cache-Control"] == "no-store"
    body = granted.json()
    assert body == {
        "id": body["id"],
        "type": "data_sharing",
        "grantedAt": "2026-11-25T15:00:00Z",
        "revokedAt": None,
        "active": True,
        "details": "Sharing form v2",
    }
    with time_machine.travel(REVOKED, tick=False):
        revoked = client.delete(f"/api/consents/{body['id']}", headers=auth("patient1@example.com"))
    headers = auth("patient1@example.com")
    assert revoked.status_code == 200
    assert revoked.json()["revokedAt"] == "2026-11-25T16:30:00Z"
    assert revoked.json()["active"] is False

    listed = client.get("/api/consents", headers=headers)
    assert listed.status_code == 200
    assert listed.json()["data"] == [revoked.json()]
    (row,) = _rows(services)
    assert row.revoked_at == REVOKED and row.granted_at == GRANTED

    # Granting again after a revocation is a new grant; the old row stays.
    again = client.post("/api/consents", json={"type": "data_sharing"}, headers=headers)
    assert again.status_code == 201
    assert len(_rows(services)) == 2
    assert [c["active"] for c in client.get("/api/consents", headers=headers).json()["data"]] == [
        True,
        False,
    ]
    actions = [(e.action, e.status) for e in audit_entries(services)]
    assert actions == [
        ("GRANT_CONSENT", "success"),
        ("REVOKE_CONSENT", "success"),
        ("LIST_CONSENTS", "success"),
        ("GRANT_CONSENT", "success"),
        ("LIST_CONSENTS", "success"),
    ]


def test_a_type_already_in_force_is_a_conflict(client, auth):
    headers = auth("patient1@example.com")
    assert (
        client.post("/api/consents", json={"type": "telehealth"}, headers=headers).status_code
        == 201
    )
    second = client.post("/api/consents", json={"type": "telehealth"}, headers=headers)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "CONFLICT"


def test_revoking_twice_is_a_conflict(client, auth):
    headers = auth("patient1@example.com")
    consent = client.post("/api/consents", json={"type": "research"}, headers=headers).json()
    assert client.delete(f"/api/consents/{consent['id']}", headers=headers).status_code == 200
    again = client.delete(f"/api/consents/{consent['id']}", headers=headers)
    assert again.status_code == 409


def test_patients_see_and_revoke_only_their_own(client, services: Services, auth):
    mine = client.post(
        "/api/consents", json={"type": "email_notifications"}, headers=auth("patient1@example.com")
    ).json()
    other = auth("patient2@example.com")
    assert client.get("/api/consents", headers=other).json() == {"data": []}
    refused = client.delete(f"/api/consents/{mine['id']}", headers=other)
    assert refused.status_code == 403
    assert _rows(services)[0].revoked_at is None
    entry = audit_entries(services, action="REVOKE_CONSENT")[-1]
    assert (entry.status, entry.resource_id) == ("denied", mine["id"])


def test_unknown_consent_is_404(client, auth):
    response = client.delete(f"/api/consents/{uuid.uuid4()}", headers=auth("patient1@example.com"))
    assert response.status_code == 404


def test_only_patients_have_consents(client, auth):
    for email in ("doctor1@example.com", "admin@example.com"):
        headers = auth(email)
        assert client.get("/api/consents", headers=headers).status_code == 403
        post = client.post("/api/consents", json={"type": "telehealth"}, headers=headers)
        assert post.status_code == 403


def test_the_spec_validates_the_body(client, auth):
    headers = auth("patient1@example.com")
    response = client.post("/api/consents", json={"type": "marketing"}, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "type"
    extra = client.post("/api/consents", json={"type": "telehealth", "x": 1}, headers=headers)
    assert extra.status_code == 400
