"""CSRF: every POST/PUT/DELETE under /api except login and refresh needs the
X-CSRF-Token of the bearer's own session."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from kernel.clock import utcnow
from models import AuditLog
from tests.conftest import DEMO_PASSWORD
from tests.support.stub_handlers import app_with_stub_handlers

SOON = (utcnow() + timedelta(days=7)).date().isoformat()
BOOKING = {
    "providerId": "7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11",
    "date": SOON,  # a date relative to today: "in the past" never decides these tests
    "time": "10:00 AM",
    "type": "routine_checkup",
    "reason": "Annual physical examination",
}


def login(client, email: str = "patient1@example.com") -> dict:
    response = client.post("/api/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(session: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['accessToken']}"}


def assert_csrf_refused(response) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "AUTHORIZATION_ERROR"
    assert "CSRF token" in error["message"]


def test_logout_without_csrf_token_is_refused_and_changes_nothing(client):
    session = login(client)
    response = client.post(
        "/api/auth/logout", json={"refreshToken": session["refreshToken"]}, headers=bearer(session)
    )
    assert_csrf_refused(response)
    # The session was not revoked: its refresh token still works.
    refreshed = client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert refreshed.status_code == 200


def test_logout_with_a_wrong_csrf_token_is_refused(client):
    session = login(client)
    headers = {**bearer(session), "X-CSRF-Token": "0" * 64}
    response = client.post(
        "/api/auth/logout", json={"refreshToken": session["refreshToken"]}, headers=headers
    )
    assert_csrf_refused(response)


def test_another_sessions_csrf_token_is_useless(client):
    mine, theirs = login(client, "patient1@example.com"), login(client, "patient2@example.com")
    headers = {**bearer(mine), "X-CSRF-Token": theirs["csrfToken"]}
    response = client.post(
        "/api/auth/logout", json={"refreshToken": mine["refreshToken"]}, headers=headers
    )
    assert_csrf_refused(response)


def test_the_sessions_own_token_is_accepted(client):
    session = login(client)
    headers = {**bearer(session), "X-CSRF-Token": session["csrfToken"]}
    response = client.post(
        "/api/auth/logout", json={"refreshToken": session["refreshToken"]}, headers=headers
    )
    assert response.status_code == 204
    refreshed = client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert refreshed.status_code == 401


def test_the_token_from_the_csrf_endpoint_is_the_sessions_token(client):
    session = login(client)
    issued = client.get("/api/auth/csrf-token", headers=bearer(session))
    assert issued.status_code == 200
    assert issued.json()["csrfToken"] == session["csrfToken"]


def test_login_and_refresh_need_no_csrf_token(client):
    session = login(client)
    response = client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert response.status_code == 200


def test_reads_need_no_csrf_token(client):
    session = login(client)
    assert client.get("/api/auth/me", headers=bearer(session)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/appointments", BOOKING),
        ("POST", "/api/appointments", {}),  # refused before the body is even looked at
        ("PUT", "/api/appointments/7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11/reschedule", {}),
        ("DELETE", "/api/appointments/7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11/cancel", {}),
        ("POST", "/api/appointments/search-providers", {}),
    ],
)
def test_every_state_changing_operation_needs_the_token(services, method, path, body):
    with app_with_stub_handlers(services.settings, services) as app:
        client = app.test_client()
        session = login(client)
        assert_csrf_refused(client.request(method, path, json=body, headers=bearer(session)))
        # With the session's token the request gets past the check (to the handler or its stub).
        headers = {**bearer(session), "X-CSRF-Token": session["csrfToken"]}
        assert client.request(method, path, json=body, headers=headers).status_code != 403


def test_a_missing_bearer_is_still_401_not_403(client):
    response = client.post("/api/auth/logout", json={"refreshToken": "x" * 20})
    assert response.status_code == 401


def test_a_refused_request_is_audited_as_denied(client, services):
    session = login(client)
    response = client.post(
        "/api/consents",
        json={"type": "research"},
        headers={**bearer(session), "X-Request-ID": "csrf-audit-1"},
    )
    assert_csrf_refused(response)
    with services.db.new_session() as db:
        entry = db.scalar(sa.select(AuditLog).where(AuditLog.request_id == "csrf-audit-1"))
    assert entry is not None
    assert (entry.action, entry.status, entry.user_id) == (
        "CSRF_REJECTED",
        "denied",
        session["user"]["id"],
    )
    assert entry.details["operationId"] == "grantConsent"
