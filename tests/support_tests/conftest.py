"""Fixtures of the tests of tests/support: the machine's MariaDB and Redis as proxy targets."""

from __future__ import annotations

import os

import pytest
import redis
import sqlalchemy as sa

from tests.conftest import mysql_server_or_skip

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def mariadb_server() -> sa.URL:
    """The test MariaDB (TEST_MYSQL_URL); skipped, or failed under REQUIRE_MARIADB=1, when none
    answers."""
    return sa.engine.make_url(mysql_server_or_skip())


@pytest.fixture(scope="session")
def redis_address() -> tuple[str, int]:
    """Host and port of the test Redis (TEST_REDIS_URL); skipped, or failed under
    REQUIRE_REDIS=1, when none answers (as in tests/integration/test_rate_limits_redis.py)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        message = f"Redis not reachable at {REDIS_URL} (set TEST_REDIS_URL)"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {message}")
        pytest.skip(message)
    options = redis.Redis.from_url(REDIS_URL).connection_pool.connection_kwargs
    return options.get("host", "127.0.0.1"), int(options.get("port", 6379))
