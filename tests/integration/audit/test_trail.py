"""The audit trail through HTTP: logins, reads, changes, refusals, and failing audit writes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from models.consents.tables import PatientConsent
from portal.runtime import Services
from tests.conftest import DEMO_PASSWORD
from tests.support.audit import audit_entries, last_entry

BROWSER = "Mozilla/5.0 (audit test)"


def test_login_success_is_audited_with_who_and_from_where(client, services: Services, auth):
    response = client.post(
        "/api/auth/login",
        json={"email": "patient1@example.com", "password": DEMO_PASSWORD},
        headers={"User-Agent": BROWSER, "X-Request-ID": "req-login-ok"},
    )
    assert response.status_code == 200
    user = auth.user("patient1@example.com")
    entry = last_entry(services, action="LOGIN")
    assert entry.status == "success"
    assert (entry.user_id, entry.user_role, entry.resource) == (user.id, "patient", "auth")
    assert entry.resource_id == user.id
    assert entry.request_id == "req-login-ok"
    assert entry.user_agent == BROWSER
    assert entry.ip
    assert entry.details == {"email": "patient1@example.com"}
    assert entry.hash and len(entry.hash) == 64


def test_login_failure_is_audited_in_its_own_transaction(client, services: Services):
    response = client.post(
        "/api/auth/login",
        json={"email": "Patient1@example.com", "password": "wrong-password-1"},
        headers={"X-Request-ID": "req-login-bad"},
    )
    assert response.status_code == 401
    entries = audit_entries(services, action="LOGIN")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.status == "failure"
    assert entry.user_id is None
    assert entry.request_id == "req-login-bad"
    assert entry.details == {
        "email": "patient1@example.com",
        "httpStatus": 401,
        "error": "AUTHENTICATION_ERROR",
    }


def test_a_read_writes_one_entry(client, services: Services, auth):
    response = client.get("/api/auth/me", headers=auth("nurse1@example.com"))
    assert response.status_code == 200
    entries = audit_entries(services, action="READ_CURRENT_USER")
    assert len(entries) == 1
    assert entries[0].status == "success"
    assert entries[0].user_id == response.json()["id"]
    assert entries[0].user_role == "nurse"
    # No X-Request-ID was sent: the generated one is echoed and recorded alike.
    assert entries[0].request_id == response.headers["X-Request-ID"]


def test_requests_refused_by_the_security_scheme_never_reach_the_trail(client, services):
    assert client.get("/api/auth/me").status_code == 401
    assert audit_entries(services) == []


def test_a_change_and_its_entry_commit_together(client, services: Services, auth):
    response = client.post(
        "/api/consents", json={"type": "telehealth"}, headers=auth("patient2@example.com")
    )
    assert response.status_code == 201
    entries = audit_entries(services, action="GRANT_CONSENT")
    assert len(entries) == 1
    assert entries[0].resource_id == response.json()["id"]
    assert entries[0].status == "success"
    assert entries[0].details == {"type": "telehealth"}


def test_a_rolled_back_change_leaves_a_failure_entry_only(client, services: Services, auth):
    headers = auth("patient2@example.com")
    assert (
        client.post("/api/consents", json={"type": "research"}, headers=headers).status_code == 201
    )
    again = client.post("/api/consents", json={"type": "research"}, headers=headers)
    assert again.status_code == 409
    statuses = [e.status for e in audit_entries(services, action="GRANT_CONSENT")]
    assert statuses == ["success", "failure"]


def test_policy_refusals_are_audited_as_denied(client, services: Services, auth):
    response = client.get("/api/consents", headers=auth("doctor1@example.com"))
    assert response.status_code == 403
    entry = last_entry(services, action="LIST_CONSENTS")
    assert entry.status == "denied"
    assert entry.user_role == "doctor"
    assert entry.details == {"httpStatus": 403, "error": "AUTHORIZATION_ERROR"}


def _failing_append(*_args, **_kwargs):
    raise OperationalError("INSERT INTO audit_logs", {}, Exception("disk full"))


def test_a_change_whose_entry_cannot_be_written_fails_with_503(
    client, services: Services, auth, monkeypatch
):
    monkeypatch.setattr(services.audit_trail, "append", _failing_append)
    response = client.post(
        "/api/consents", json={"type": "data_sharing"}, headers=auth("patient3@example.com")
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    with services.db.new_session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(PatientConsent)) == 0


def test_a_read_whose_entry_cannot_be_written_is_not_served(client, services, auth, monkeypatch):
    monkeypatch.setattr(services.audit_trail, "append", _failing_append)
    response = client.get("/api/auth/me", headers=auth("patient1@example.com"))
    assert response.status_code == 503
    assert "email" not in response.text


def test_a_failed_login_whose_entry_cannot_be_written_is_503_not_401(client, services, monkeypatch):
    monkeypatch.setattr(services.audit_trail, "append", _failing_append)
    response = client.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": "whatever-1"}
    )
    assert response.status_code == 503


def test_a_reused_refresh_token_records_the_revocation_and_the_refusal(client, services):
    login = client.post(
        "/api/auth/login", json={"email": "patient4@example.com", "password": DEMO_PASSWORD}
    ).json()
    first = client.post("/api/auth/refresh", json={"refreshToken": login["refreshToken"]})
    assert first.status_code == 200
    reused = client.post("/api/auth/refresh", json={"refreshToken": login["refreshToken"]})
    assert reused.status_code == 401
    entries = audit_entries(services, action="REFRESH_SESSION")
    assert [e.status for e in entries] == ["success", "success", "failure"]
    assert entries[0].user_id == login["user"]["id"]
    # The revocation committed with its own entry; the refusal the client saw follows it.
    assert entries[1].details == {"sessionRevoked": "refresh token reuse"}
    assert entries[2].details == {
        "sessionRevoked": "refresh token reuse",
        "httpStatus": 401,
        "error": "AUTHENTICATION_ERROR",
    }


def test_a_crashing_handler_is_audited_as_a_failure(client, services, auth, monkeypatch):
    from models.consents import use_cases as consents

    def crash(*_args, **_kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(consents, "list_consents", crash)
    response = client.get("/api/consents", headers=auth("patient1@example.com"))
    assert response.status_code == 500
    entry = last_entry(services, action="LIST_CONSENTS")
    assert entry.status == "failure"
    assert entry.details == {"httpStatus": 500, "error": "INTERNAL_SERVER_ERROR"}
