"""Fixtures of the tests of tests/support: the machine's MariaDB and Redis as proxy targets."""

from __future__ import annotations

import pytest
import redis
import sqlalchemy as sa

from tests.conftest import mysql_server_or_skip, redis_url_or_skip


@pytest.fixture(scope="session")
def mariadb_server() -> sa.URL:
    """The test MariaDB (TEST_MYSQL_URL); skipped, or failed under REQUIRE_MARIADB=1, when none
    answers."""
    return sa.engine.make_url(mysql_server_or_skip())


@pytest.fixture(scope="session")
def redis_address() -> tuple[str, int]:
    """Host and port of the test Redis (TEST_REDIS_URL); skipped, or failed under
    REQUIRE_REDIS=1, when none answers ."""
    options = redis.Redis.from_url(redis_url_or_skip()).connection_pool.connection_kwargs
    return options.get("host", "127.0.0.1"), int(options.get("port", 6379))
