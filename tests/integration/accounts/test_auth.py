"""Login, refresh rotation with reuse detection, logout, /me and the CSRF token, through HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import sqlalchemy as sa
import time_machine

from models import RefreshToken
from tests.conftest import DEMO_PASSWORD, TEST_SECRET

PATIENT = "patient1@example.com"


def login(client, email: str = PATIENT, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_login_returns_a_session_with_the_plans_claims(client) -> None:
    response = login(client)
    assert response.status_code == 200
    body = response.json()
    assert body["tokenType"] == "Bearer" and body["expiresIn"] == 900
    assert body["user"]["email"] == PATIENT and body["user"]["role"] == "patient"
    assert set(body["user"]) == {"id", "email", "role", "firstName", "lastName"}
    claims = jwt.decode(body["accessToken"], TEST_SECRET, algorithms=["HS256"])
    assert claims["userId"] == body["user"]["id"]
    assert claims["email"] == PATIENT and claims["role"] == "patient"
    assert claims["exp"] - claims["iat"] == 900


def test_login_email_is_case_insensitive(client) -> None:
    assert login(client, email="Patient1@Example.COM").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(client) -> None:
    wrong_password = login(client, password="not-the-password")
    unknown_email = login(client, email="nobody@example.com")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json()["error"]["code"] == "AUTHENTICATION_ERROR"
    assert (
        wrong_password.json()["error"]["message"]
        == unknown_email.json()["error"]["message"]
        == "Invalid email or password"
    )


def test_provider_without_a_password_cannot_log_in(client) -> None:
    assert login(client, email="provider2@clinic.example", password="").status_code == 400
    assert login(client, email="provider2@clinic.example", password="x").status_code == 401


def test_me_and_csrf_token_belong_to_the_bearers_session(client) -> None:
    session = login(client).json()
    headers = {"Authorization": f"Bearer {session['accessToken']}"}
    me = client.get("/api/auth/me", headers=headers)
    assert me.status_code == 200 and me.json() == session["user"]
    csrf = client.get("/api/auth/csrf-token", headers=headers)
    assert csrf.status_code == 200 and csrf.json() == {"csrfToken": session["csrfToken"]}
    other = login(client, email="patient2@example.com").json()
    assert other["csrfToken"] != session["csrfToken"]


def test_refresh_rotates_and_a_reused_token_revokes_the_session(client, db_session) -> None:
    first = login(client).json()
    second = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refreshToken"] != first["refreshToken"]
    assert rotated["csrfToken"] == first["csrfToken"]  # same session
    claims = jwt.decode(rotated["accessToken"], TEST_SECRET, algorithms=["HS256"])
    assert claims["userId"] == first["user"]["id"]

    replay = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert replay.status_code == 401
    assert "already used" in replay.json()["error"]["message"]
    # the whole session is dead now, including the token issued by the rotation
    after = client.post("/api/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert after.status_code == 401
    family = db_session.scalars(sa.select(RefreshToken.revoked_at)).all()
    assert family and all(revoked is not None for revoked in family)


def test_unknown_refresh_token_is_401(client) -> None:
    response = client.post("/api/auth/refresh", json={"refreshToken": "made-up"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTHENTICATION_ERROR"


def test_refresh_token_expires(client) -> None:
    session = login(client).json()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=7, minutes=1)):
        response = client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert response.status_code == 401


def test_logout_revokes_the_refresh_token(client) -> None:
    session = login(client).json()
    headers = {
        "Authorization": f"Bearer {session['accessToken']}",
        "X-CSRF-Token": session["csrfToken"],
    }
    out = client.post(
        "/api/auth/logout", json={"refreshToken": session["refreshToken"]}, headers=headers
    )
    assert out.status_code == 204
    again = client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert again.status_code == 401


def test_logout_cannot_revoke_someone_elses_session(client, auth) -> None:
    victim = login(client, email="patient2@example.com").json()
    out = client.post(
        "/api/auth/logout", json={"refreshToken": victim["refreshToken"]}, headers=auth(PATIENT)
    )
    assert out.status_code == 204
    still = client.post("/api/auth/refresh", json={"refreshToken": victim["refreshToken"]})
    assert still.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer not.a.jwt",
        "Basic dXNlcjpwYXNz",
        "Bearer "
        + jwt.encode(
            {"userId": "u", "email": "e", "role": "admin", "iat": 0, "exp": 9999999999},
            "wrong-secret-wrong-secret-wrong-secret!",
            algorithm="HS256",
        ),
    ],
)
def test_bad_credentials_are_401_in_the_standard_format(client, authorization) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/api/auth/me", headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "AUTHENTICATION_ERROR" and error["path"] == "/api/auth/me"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_expired_access_token_is_401(client) -> None:
    session = login(client).json()
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        response = client.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {session['accessToken']}"}
        )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Token has expired"


def test_a_hash_with_older_argon2_parameters_still_logs_in_and_is_upgraded(
    client, services
) -> None:
    from argon2 import PasswordHasher

    from models import User

    old_hash = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(DEMO_PASSWORD)
    with services.db.engine.begin() as connection:
        connection.execute(
            sa.update(User).where(User.email == PATIENT).values(password_hash=old_hash)
        )
    assert login(client, password="not-the-password").status_code == 401
    assert login(client).status_code == 200
    with services.db.new_session() as session:
        stored = session.scalar(sa.select(User.password_hash).where(User.email == PATIENT))
    assert stored != old_hash and stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert login(client).status_code == 200
