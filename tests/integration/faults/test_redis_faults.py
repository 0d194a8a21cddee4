"""Redis stalled or cut behind a real server: the limiter's policy (docs/security.md) applies
within RATE_LIMIT_STORAGE_TIMEOUT_SECONDS: each process goes on counting the same limits in its
own memory, and returns to Redis once it answers again; session checks ask the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.conftest import redis_url_or_skip
from tests.integration.faults.conftest import BOUND_SECONDS, bearer, login, timed
from tests.support.waiting import wait_until

GENERAL_LIMIT = 10


@pytest.fixture
def prefix() -> Iterator[str]:
    prefix = f"portal-fault-{uuid.uuid4().hex[:12]}"
    yield prefix
    store = redis.Redis.from_url(redis_url_or_skip())
    leftovers = list(store.scan_iter(f"*{prefix}*"))
    if leftovers:
        store.delete(*leftovers)


@pytest.mark.parametrize("fault", ["stall", "cut"])
def test_without_redis_each_process_counts_the_same_limits_then_returns_to_redis(
    serve, sqlite_backend, redis_proxy, prefix, fault
):
    proxy, url = redis_proxy
    server = serve(
        sqlite_backend.url,
        RATE_LIMIT_STORAGE_URL=url,
        RATE_LIMIT_KEY_PREFIX=prefix,
        RATE_LIMIT_MAX_REQUESTS=str(GENERAL_LIMIT),
    )
    base = server.base_url
    session = login(base)  # counted in Redis: 1 of the general limit

    def me() -> httpx.Response:
        return httpx.get(f"{base}/api/auth/me", headers=bearer(session), timeout=60)

    getattr(proxy, fault)()
    try:
        answers = []
        for _ in range(GENERAL_LIMIT + 1):
            response, took = timed(me)
            answers.append(response.status_code)
            assert took < BOUND_SECONDS
            assert response.headers["X-RateLimit-Limit"] == str(GENERAL_LIMIT)
        # counted in this process's memory from zero: the limit holds, refused with 429
        assert answers == [200] * GENERAL_LIMIT + [429]
        csrf, took = timed(
            lambda: httpx.get(f"{base}/api/auth/csrf-token", headers=bearer(session), timeout=60)
        )
        assert csrf.status_code == 429 and took < BOUND_SECONDS
        assert httpx.get(f"{base}/health", timeout=60).status_code == 200  # never limited
    finally:
        proxy.resume() if fault == "stall" else proxy.restore()

    # back to Redis (asked again after 1, 2, 4 ... s), where 1 request of 10 was counted
    back = wait_until(
        lambda: (r := me()).status_code == 200 and r, timeout=60, interval=0.5, what="Redis again"
    )
    assert int(back.headers["X-RateLimit-Remaining"]) >= GENERAL_LIMIT - 3
    log = server.log_text()
    assert "Traceback" not in log
    assert log.count("Rate limit storage unreachable") == 1
