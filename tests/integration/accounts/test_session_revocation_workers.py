"""Two server processes sharing Redis (RATE_LIMIT_STORAGE_URL): a session ended on one is
refused by the other at its next request (security.revocations)."""

from __future__ import annotations

import uuid

import httpx
import pytest
import redis

from tests.conftest import DEMO_PASSWORD, prepare_backend, redis_url_or_skip
from tests.support.servers import running_server, server_env

PATIENT = "patient1@example.com"
ENDED = "Session has ended; please log in again"


@pytest.fixture
def redis_url() -> str:
    return redis_url_or_skip()


def login(base_url: str) -> dict:
    body = {"email": PATIENT, "password": DEMO_PASSWORD}
    response = httpx.post(f"{base_url}/api/auth/login", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def me(base_url: str, session: dict) -> httpx.Response:
    bearer = {"Authorization": f"Bearer {session['accessToken']}"}
    return httpx.get(f"{base_url}/api/auth/me", headers=bearer, timeout=10)


def test_a_session_ended_on_one_worker_is_refused_by_the_other(redis_url, tmp_path):
    backend = prepare_backend("sqlite", f"sqlite:///{tmp_path / 'portal.sqlite3'}", tmp_path)
    prefix = f"portal-test-{uuid.uuid4().hex[:12]}"
    env = server_env(backend.url, RATE_LIMIT_STORAGE_URL=redis_url, RATE_LIMIT_KEY_PREFIX=prefix)
    store = redis.Redis.from_url(redis_url)
    try:
        with running_server(env) as first, running_server(env) as second:
            # logout on the first; the second refuses the access token at once
            session = login(first)
            assert me(second, session).status_code == 200  # the second asked, and was told no
            headers = {
                "Authorization": f"Bearer {session['accessToken']}",
                "X-CSRF-Token": session["csrfToken"],
            }
            out = httpx.post(
                f"{first}/api/auth/logout",
                json={"refreshToken": session["refreshToken"]},
                headers=headers,
                timeout=10,
            )
            assert out.status_code == 204
            for url in (second, first):
                refused = me(url, session)
                assert refused.status_code == 401
                assert refused.json()["error"]["message"] == ENDED
            # refresh-token reuse detected by the second; the first refuses the session's tokens
            other = login(first)
            rotated = httpx.post(
                f"{second}/api/auth/refresh", json={"refreshToken": other["refreshToken"]}
            ).json()
            assert me(first, rotated).status_code == 200
            replay = httpx.post(
                f"{second}/api/auth/refresh", json={"refreshToken": other["refreshToken"]}
            )
            assert replay.status_code == 401
            assert me(first, rotated).json()["error"]["message"] == ENDED
            assert me(first, other).status_code == 401
        keys = list(store.scan_iter(f"{prefix}:revoked-session:*"))
        assert len(keys) == 2
        assert all(0 < store.ttl(key) <= 15 * 60 + 1 for key in keys)  # JWT_EXPIRATION
    finally:
        leftovers = list(store.scan_iter(f"*{prefix}*"))
        if leftovers:
            store.delete(*leftovers)
