"""With RATE_LIMIT_STORAGE_URL=redis://..., two server processes share one set of counters, and
each limit costs a request one Redis round trip (portal.web.limits.OneTripRedisStorage)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from portal.ops import migrate
from portal.web.app import create_app
from portal.web.limits import OneTripRedisStorage, storage_uri_for
from tests.conftest import make_settings, redis_url_or_skip
from tests.support.redis_server import private_redis
from tests.support.servers import running_server, server_env


@pytest.fixture
def redis_url() -> str:
    return redis_url_or_skip()


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


@pytest.fixture
def redis_commands(monkeypatch) -> list[tuple]:
    """Every command a redis client sends from now on (arguments as sent)."""
    sent: list[tuple] = []
    original = redis.Redis.execute_command

    def counting(self, *args, **options):  # type: ignore[no-untyped-def]
        sent.append(args)
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    return sent


def test_redis_urls_select_the_one_trip_storage():
    assert storage_uri_for("redis://127.0.0.1:6379/0") == "portal+redis://127.0.0.1:6379/0"
    assert storage_uri_for("rediss://cache:6380") == "portal+rediss://cache:6380"
    assert storage_uri_for("memory://") == "memory://"


@pytest.fixture
def own_redis_url() -> Iterator[str]:
    """A Redis nothing else uses: the shared one's script cache may be flushed (or the server
    restarted) by any other client between the app's script preload and the requests, and the
    refused EVALSHA would then be retried after a SCRIPT LOAD (the 4th EVALSHA of issue 15)."""
    with private_redis() as url:
        yield url


def test_each_limit_costs_one_round_trip_and_the_headers_stay_exact(
    own_redis_url, redis_commands, backend, services
):
    redis_url = own_redis_url
    prefix = f"portal-test-{uuid.uuid4().hex[:12]}"
    settings = make_settings(
        backend.url,
        backend.storage_path,
        rate_limit_enabled=True,
        rate_limit_storage_url=redis_url,
        rate_limit_key_prefix=prefix,
        rate_limit_auth_max=3,
    )
    client = create_app(settings, services).test_client()
    storage = redis.Redis.from_url(redis_url)
    try:
        remaining = []
        for _ in range(3):
            del redis_commands[:]
            answer = client.post(
                "/api/auth/login", json={"email": "trips@example.com", "password": "wrong-one"}
            )
            assert answer.status_code == 401
            # login counts against three limits (general, per address, per email): one
            # increment each, and nothing more for the X-RateLimit headers
            ours = [command for command in redis_commands if prefix in repr(command)]
            assert [command[0] for command in ours] == ["EVALSHA"] * 3, redis_commands
            remaining.append(answer.headers["X-RateLimit-Remaining"])
            reset_in = int(answer.headers["X-RateLimit-Reset"]) - time.time()
            assert 15 * 60 - 5 <= reset_in <= 15 * 60 + 1  # the login window, from Redis's TTL
        assert remaining == ["2", "1", "0"]
        counters = {key.decode(): int(storage.get(key)) for key in storage.scan_iter(f"*{prefix}*")}
        assert sorted(counters.values()) == [3, 3, 3], counters
        refused = client.post(
            "/api/auth/login", json={"email": "trips@example.com", "password": "wrong-one"}
        )
        assert refused.status_code == 429
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    finally:
        keys = list(storage.scan_iter(f"*{prefix}*"))
        if keys:
            storage.delete(*keys)


def test_the_first_request_on_a_fresh_redis_costs_one_trip_per_limit_too(
    redis_commands, backend, services
):
    """A Redis that has never run the limiter's script (a new machine, a restarted server):
    the storage loads it when the app starts, so no request pays a refused EVALSHA."""
    with private_redis() as fresh:
        settings = make_settings(
            backend.url,
            backend.storage_path,
            rate_limit_enabled=True,
            rate_limit_storage_url=fresh,
        )
        client = create_app(settings, services).test_client()
        del redis_commands[:]
        answer = client.post(
            "/api/auth/login", json={"email": "fresh@example.com", "password": "wrong-one"}
        )
        assert answer.status_code == 401
        assert [command[0] for command in redis_commands] == ["EVALSHA"] * 3, redis_commands


def test_reads_outside_the_counting_request_ask_redis(redis_url):
    key = f"portal-test-{uuid.uuid4().hex[:12]}"
    storage = OneTripRedisStorage(storage_uri_for(redis_url))
    try:
        assert storage.incr(key, 60) == 1  # no request here: nothing is remembered
        assert storage.incr(key, 60) == 2
        assert storage.get(key) == 2
        assert time.time() + 58 <= storage.get_expiry(key) <= time.time() + 60.5
    finally:
        storage.clear(key)
