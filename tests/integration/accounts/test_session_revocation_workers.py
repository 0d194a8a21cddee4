"""Two server processes sharing Redis (RATE_LIMIT_STORAGE_URL): a session ended on one is
refused by the other at its next request (security.revocations), whether the other hears of
it on its subscription or, with the subscription cut, asks Redis."""

from __future__ import annotations

import uuid

import httpx
import pytest
import redis

from tests.conftest import DEMO_PASSWORD, prepare_backend, redis_url_or_skip
from tests.support.redis_server import private_redis
from tests.support.servers import running_server, server_env
from tests.support.waiting import wait_until

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
            logout(first, session)
            assert_ended(session, second, first)
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


def exists_calls(store: redis.Redis) -> int:
    """EXISTS commands the Redis has run (the revocation check's round trip)."""
    stats = store.info("commandstats").get("cmdstat_exists")
    return int(stats["calls"]) if stats else 0


def assert_ended(session: dict, *base_urls: str) -> None:
    """Every server refuses the session's access token: its session ended."""
    for base_url in base_urls:
        refused = me(base_url, session)
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == ENDED


def logout(base_url: str, session: dict) -> None:
    headers = {
        "Authorization": f"Bearer {session['accessToken']}",
        "X-CSRF-Token": session["csrfToken"],
    }
    out = httpx.post(
        f"{base_url}/api/auth/logout",
        json={"refreshToken": session["refreshToken"]},
        headers=headers,
        timeout=10,
    )
    assert out.status_code == 204


def test_through_the_subscription_a_check_asks_redis_nothing_and_a_logout_still_counts_at_once(
    tmp_path,
):
    backend = prepare_backend("sqlite", f"sqlite:///{tmp_path / 'portal.sqlite3'}", tmp_path)
    with private_redis() as url:
        env = server_env(backend.url, RATE_LIMIT_STORAGE_URL=url)
        store = redis.Redis.from_url(url)
        with running_server(env) as first, running_server(env) as second:
            session = login(first)
            for base in (first, second):  # each process's first check subscribes
                assert me(base, session).status_code == 200
            wait_until(
                lambda: store.pubsub_numsub("portal:revoked-sessions")[0][1] == 2,
                timeout=20,
                what="both processes subscribed",
            )

            def a_round_asks_redis_nothing() -> bool:
                before = exists_calls(store)
                for base in (first, second):
                    assert me(base, session).status_code == 200
                return exists_calls(store) == before

            # answered from what the subscription said, once each has its first PING answered
            wait_until(a_round_asks_redis_nothing, timeout=20, what="checks without EXISTS")
            before = exists_calls(store)
            logout(first, session)
            assert_ended(session, second, first)
            assert exists_calls(store) == before


def test_when_the_subscription_is_cut_checks_ask_redis_and_a_logout_still_counts_at_once(
    tmp_path,
):
    backend = prepare_backend("sqlite", f"sqlite:///{tmp_path / 'portal.sqlite3'}", tmp_path)
    with private_redis() as url:
        env = server_env(backend.url, RATE_LIMIT_STORAGE_URL=url)
        store = redis.Redis.from_url(url)
        with running_server(env) as first, running_server(env) as second:
            session = login(first)
            for base in (first, second):
                assert me(base, session).status_code == 200
            wait_until(
                lambda: store.pubsub_numsub("portal:revoked-sessions")[0][1] == 2,
                timeout=20,
                what="both processes subscribed",
            )
            store.client_kill_filter(_type="pubsub")  # no process hears the logout's message
            logout(first, session)
            assert_ended(session, second, first)
            other = login(second)
            assert me(first, other).status_code == 200  # the others still get in
