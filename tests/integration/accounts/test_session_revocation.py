"""Sessions end when they end: after logout, refresh-token reuse, a password change (for the
user's other sessions) or the maximum lifetime, the session's tokens are refused at once,
through HTTP on both databases."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import sqlalchemy as sa
import time_machine

from kernel.settings import Settings
from models import RefreshToken, User
from portal.runtime import Services, build_services
from portal.web.app import create_app
from security.passwords import verify_password
from tests.conftest import DEMO_PASSWORD, TEST_SECRET, make_settings
from tests.support.audit import last_entry

PATIENT = "patient1@example.com"
NEW_PASSWORD = "a-longer-passphrase-2026"
ENDED = "Session has ended; please log in again"


def login(client, password: str = DEMO_PASSWORD) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/auth/login", json={"email": PATIENT, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def headers(session: dict) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {session['accessToken']}",
        "X-CSRF-Token": session["csrfToken"],
    }


def refresh(client, session: dict):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})


def assert_ended(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "AUTHENTICATION_ERROR" and error["message"] == ENDED


def a_write(client, session: dict):  # type: ignore[no-untyped-def]
    return client.post("/api/consents", json={"type": "telehealth"}, headers=headers(session))


def change_password(client, session: dict, current: str, new: str):  # type: ignore[no-untyped-def]
    body = {"currentPassword": current, "newPassword": new}
    return client.post("/api/auth/password", json=body, headers=headers(session))


def family_of(db_session, session: dict) -> list[RefreshToken]:  # type: ignore[no-untyped-def]
    claims = jwt.decode(
        session["accessToken"], TEST_SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    return list(
        db_session.scalars(sa.select(RefreshToken).where(RefreshToken.family_id == claims["sid"]))
    )


def test_after_logout_the_access_token_neither_reads_nor_writes(client):
    session = login(client)
    assert client.get("/api/auth/me", headers=headers(session)).status_code == 200
    out = client.post(
        "/api/auth/logout", json={"refreshToken": session["refreshToken"]}, headers=headers(session)
    )
    assert out.status_code == 204
    assert_ended(client.get("/api/auth/me", headers=headers(session)))
    assert_ended(a_write(client, session))
    assert_ended(client.get("/api/appointments", headers=headers(session)))
    # another session of the same user is untouched
    other = login(client)
    assert client.get("/api/auth/me", headers=headers(other)).status_code == 200


def test_after_refresh_token_reuse_every_access_token_of_the_session_stops(client, db_session):
    first = login(client)
    rotated = refresh(client, first).json()
    assert client.get("/api/auth/me", headers=headers(rotated)).status_code == 200
    assert refresh(client, first).status_code == 401  # the reuse: the session is revoked
    assert_ended(client.get("/api/auth/me", headers=headers(first)))
    assert_ended(client.get("/api/auth/me", headers=headers(rotated)))
    assert_ended(a_write(client, rotated))
    assert all(token.revoked_at is not None for token in family_of(db_session, first))


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(client, services, db_session):
    this, other, third = login(client), login(client), login(client)
    changed = change_password(client, this, DEMO_PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 204, changed.text
    # the other sessions: access tokens and refresh tokens refused at once
    for ended in (other, third):
        assert_ended(client.get("/api/auth/me", headers=headers(ended)))
        assert_ended(a_write(client, ended))
        assert refresh(client, ended).status_code == 401
        assert all(token.revoked_at is not None for token in family_of(db_session, ended))
    # this session goes on, and refreshes
    assert client.get("/api/auth/me", headers=headers(this)).status_code == 200
    assert a_write(client, this).status_code == 201
    assert all(token.revoked_at is None for token in family_of(db_session, this))
    assert refresh(client, this).status_code == 200
    # the password itself
    user = db_session.scalar(sa.select(User).where(User.email == PATIENT))
    assert verify_password(user.password_hash, NEW_PASSWORD)
    wrong = client.post("/api/auth/login", json={"email": PATIENT, "password": DEMO_PASSWORD})
    assert wrong.status_code == 401
    assert login(client, NEW_PASSWORD)["accessToken"]
    entry = last_entry(services, action="CHANGE_PASSWORD")
    assert entry.status == "success" and entry.user_id == user.id
    assert entry.resource == "users" and entry.resource_id == user.id
    assert entry.details["otherSessionsEnded"] == 2


def test_a_wrong_current_password_is_a_400_and_changes_nothing(client, services, db_session):
    this, other = login(client), login(client)
    response = change_password(client, this, "not-the-password", NEW_PASSWORD)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == [
        {"field": "currentPassword", "message": "Current password is incorrect"}
    ]
    assert client.get("/api/auth/me", headers=headers(other)).status_code == 200
    assert refresh(client, other).status_code == 200
    user = db_session.scalar(sa.select(User).where(User.email == PATIENT))
    assert verify_password(user.password_hash, DEMO_PASSWORD)
    assert last_entry(services, action="CHANGE_PASSWORD").status == "failure"


def test_a_weak_new_password_is_refused_with_each_rule_it_breaks(client):
    this = login(client)
    response = change_password(client, this, DEMO_PASSWORD, "patient1patient1")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert [detail["field"] for detail in details] == ["newPassword"]
    assert "email name" in details[0]["message"]
    too_short = change_password(client, this, DEMO_PASSWORD, "short")
    assert too_short.status_code == 400  # the spec's minLength, before the handler
    same = change_password(client, this, DEMO_PASSWORD, DEMO_PASSWORD)
    assert same.status_code == 400
    assert "differ" in same.json()["error"]["details"][0]["message"]
    assert client.get("/api/auth/me", headers=headers(this)).status_code == 200


def test_a_password_change_needs_the_csrf_token_and_a_bearer(client):
    this = login(client)
    body = {"currentPassword": DEMO_PASSWORD, "newPassword": NEW_PASSWORD}
    bearer_only = {"Authorization": f"Bearer {this['accessToken']}"}
    assert client.post("/api/auth/password", json=body, headers=bearer_only).status_code == 403
    assert client.post("/api/auth/password", json=body).status_code == 401


def test_password_changes_are_rate_limited_like_logins(backend, services):
    settings = make_settings(
        backend.url, backend.storage_path, rate_limit_enabled=True, rate_limit_auth_max=2
    )
    client = create_app(settings, services).test_client()
    this = login(client)
    answers = [change_password(client, this, "not-the-password", NEW_PASSWORD) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [400, 400, 429]
    assert answers[2].json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert int(answers[2].headers["Retry-After"]) > 0


LOGIN_AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
MAX_LIFETIME = timedelta(hours=12)  # SESSION_MAX_LIFETIME default


def test_however_active_a_session_is_refresh_is_refused_after_its_maximum_lifetime(
    client, db_session
):
    with time_machine.travel(LOGIN_AT, tick=False) as clock:
        session = login(client)
        # refreshing every 10 minutes, never idle
        for minutes in range(10, 720, 10):
            clock.move_to(LOGIN_AT + timedelta(minutes=minutes))
            answer = refresh(client, session)
            assert answer.status_code == 200, answer.text
            session = answer.json()
        # the last access token stops at the session's end, not 15 minutes after its issue
        last = jwt.decode(session["accessToken"], TEST_SECRET, algorithms=["HS256"])
        assert last["exp"] == int((LOGIN_AT + MAX_LIFETIME).timestamp())
        assert session["expiresIn"] == 600
        clock.move_to(LOGIN_AT + MAX_LIFETIME)
        refused = refresh(client, session)
        assert refused.status_code == 401
        error = refused.json()["error"]
        assert error["code"] == "AUTHENTICATION_ERROR"
        assert error["message"] == "Session reached its maximum lifetime; please log in again"
        assert all(token.revoked_at is not None for token in family_of(db_session, session))
        assert login(client)["accessToken"]  # a new login is a new session


def test_the_maximum_lifetime_is_a_setting(backend, services):
    settings = make_settings(backend.url, backend.storage_path, session_max_lifetime="1h")
    client = create_app(settings, dataclasses.replace(services, settings=settings)).test_client()
    with time_machine.travel(LOGIN_AT, tick=False) as clock:
        session = login(client)
        for _ in range(5):
            clock.shift(timedelta(minutes=10))
            session = refresh(client, session).json()
        assert session["expiresIn"] == 600  # 50 minutes in: 10 left of the hour
        clock.shift(timedelta(minutes=10))
        refused = refresh(client, session)
        assert refused.status_code == 401
        assert "maximum lifetime" in refused.json()["error"]["message"]


@contextmanager
def logged_out_on_a_first_worker(settings: Settings) -> Iterator[tuple[Any, dict, Services]]:
    """Two apps with their own revocation lists stand for two workers: patient1 logs in on the
    first, is still served by the second, then logs out on the first. Yields the second's
    client, the ended session and the second's services."""
    workers = [build_services(settings), build_services(settings)]
    try:
        first, second = (create_app(settings, each).test_client() for each in workers)
        session = login(first)
        assert second.get("/api/auth/me", headers=headers(session)).status_code == 200
        out = first.post(
            "/api/auth/logout",
            json={"refreshToken": session["refreshToken"]},
            headers=headers(session),
        )
        assert out.status_code == 204
        yield second, session, workers[1]
    finally:
        for each in workers:
            each.db.dispose()


def test_with_redis_unreachable_the_database_tells_other_workers(backend, services):
    """Their Redis refuses connections, so the second worker asks the database (within the
    check's timeout) and still refuses."""
    settings = make_settings(
        backend.url, backend.storage_path, rate_limit_storage_url="redis://127.0.0.1:1/0"
    )
    with logged_out_on_a_first_worker(settings) as (second, session, worker):
        assert_ended(second.get("/api/auth/me", headers=headers(session)))
        assert worker.revocations.shared_is_down


def test_without_redis_other_workers_refuse_the_token_within_the_poll_interval(backend):
    """Without Redis the second worker learns of the first's logout from the database at its
    next poll (SESSION_REVOCATION_POLL_SECONDS), not per request."""
    settings = make_settings(backend.url, backend.storage_path, session_revocation_poll_seconds=1)
    with logged_out_on_a_first_worker(settings) as (second, session, _):
        time.sleep(1.1)  # the poll interval (a monotonic clock, which time-machine leaves alone)
        assert_ended(second.get("/api/auth/me", headers=headers(session)))
