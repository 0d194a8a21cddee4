"""With RATE_LIMIT_STORAGE_URL=redis://..., two server processes share one set of counters."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest
import redis

from portal import migrate
from tests.integration.servers import running_server, server_env

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        message = f"Redis not reachable at {REDIS_URL} (set TEST_REDIS_URL)"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {message}")
        pytest.skip(message)
    return REDIS_URL


def wrong_login(base_url: str, email: str) -> httpx.Response:
    body = {"email": email, "password": "not-the-password"}
    return httpx.post(f"{base_url}/api/auth/login", json=body, timeout=10)


def test_two_processes_share_the_login_limit_through_redis(redis_url, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    migrate.upgrade(database_url)
    prefix = f"portal-test-{uuid.uuid4().hex[:12]}"
    env = server_env(
        database_url,
        RATE_LIMIT_STORAGE_URL=redis_url,
        RATE_LIMIT_KEY_PREFIX=prefix,
        RATE_LIMIT_AUTH_MAX="4",
    )
    try:
        with running_server(env) as first, running_server(env) as second:
            answers = [wrong_login(url, "shared@example.com") for url in (first, second) * 2]
            assert [r.status_code for r in answers] == [401] * 4
            # Each process saw only two attempts; the fifth is refused by both.
            assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["3", "2", "1", "0"]
            for url in (first, second):
                refused = wrong_login(url, "shared@example.com")
                assert refused.status_code == 429
                assert refused.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
                assert int(refused.headers["Retry-After"]) > 0
    finally:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(f"*{prefix}*"))
        if keys:
            client.delete(*keys)
        assert keys, "the limiter wrote no counters to Redis"
