"""Session timeout: access tokens live JWT_EXPIRATION; a refresh after SESSION_TIMEOUT of
idleness (counted from the moment the access token stopped working) is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from models.accounts.tables import RefreshToken
from security.tokens import hash_refresh_token
from tests.conftest import DEMO_PASSWORD

LOGIN_AT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
ACCESS_TTL = timedelta(minutes=15)  # JWT_EXPIRATION default
IDLE_TIMEOUT = timedelta(minutes=15)  # SESSION_TIMEOUT default


def login(client) -> dict:
    body = {"email": "patient1@example.com", "password": DEMO_PASSWORD}
    response = client.post("/api/auth/login", json=body)
    assert response.status_code == 200
    return response.json()


def refresh(client, session: dict):
    return client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})


def test_access_tokens_expire_after_jwt_expiration(client):
    with time_machine.travel(LOGIN_AT, tick=False) as clock:
        session = login(client)
        assert session["expiresIn"] == 900
        headers = {"Authorization": f"Bearer {session['accessToken']}"}
        clock.move_to(LOGIN_AT + ACCESS_TTL - timedelta(seconds=1))
        assert client.get("/api/auth/me", headers=headers).status_code == 200
        clock.move_to(LOGIN_AT + ACCESS_TTL + timedelta(seconds=1))
        expired = client.get("/api/auth/me", headers=headers)
        assert expired.status_code == 401
        assert expired.json()["error"]["message"] == "Token has expired"


def test_an_active_session_keeps_refreshing(client):
    with time_machine.travel(LOGIN_AT, tick=False) as clock:
        session = login(client)
        # Refreshing on the 401 after expiry, and again much later, but never idle too long.
        for _ in range(4):
            clock.shift(ACCESS_TTL + IDLE_TIMEOUT - timedelta(seconds=1))
            response = refresh(client, session)
            assert response.status_code == 200, response.text
            session = response.json()


def test_a_refresh_after_the_idle_timeout_is_refused_and_ends_the_session(client, db_session):
    with time_machine.travel(LOGIN_AT, tick=False) as clock:
        session = login(client)
        clock.move_to(LOGIN_AT + ACCESS_TTL + IDLE_TIMEOUT)
        response = refresh(client, session)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "AUTHENTICATION_ERROR"
        assert "inactivity" in error["message"]
        # The session is over: its tokens are revoked, and a new login is needed.
        presented = db_session.scalar(
            sa.select(RefreshToken).where(
                RefreshToken.token_hash == hash_refresh_token(session["refreshToken"])
            )
        )
        family = db_session.scalars(
            sa.select(RefreshToken).where(RefreshToken.family_id == presented.family_id)
        ).all()
        assert family and all(token.revoked_at is not None for token in family)
        assert refresh(client, session).status_code == 401
        assert login(client)["accessToken"]
