"""Fault injection: a real `portal serve` whose MariaDB or Redis is reached through a TCP proxy
(tests/support/tcp_proxy.py) that a test stalls, cuts and resumes; the machine's shared
services are never touched."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa

from kernel.clock import utcnow
from tests.conftest import (
    DEMO_PASSWORD,
    Backend,
    prepare_backend,
    redis_url_or_skip,
    temporary_mysql_database,
)
from tests.support import child_server
from tests.support.servers import STARTUP_TIMEOUT_SECONDS, free_port, server_env
from tests.support.tcp_proxy import TcpProxy

# The server's bounds in these tests (the defaults are larger, docs/operations.md): small, so
# the tests are quick; the assertions allow far more, for a busy machine.
FAST_TIMEOUTS = {
    "DATABASE_CONNECT_TIMEOUT_SECONDS": "1",
    "DATABASE_READ_TIMEOUT_SECONDS": "2",
    "DATABASE_WRITE_TIMEOUT_SECONDS": "2",
    "DATABASE_POOL_TIMEOUT_SECONDS": "2",
    "RATE_LIMIT_STORAGE_TIMEOUT_SECONDS": "0.5",
}
BOUND_SECONDS = 10  # what any answer may take while a dependency is stalled or cut
PATIENT = "patient1@example.com"
T = TypeVar("T")


@dataclass
class Server:
    base_url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def timed(call: Callable[[], T]) -> tuple[T, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def wednesday_ahead() -> date:
    """A Wednesday at least two days after the real today (the server runs on the real clock)."""
    start = utcnow().date() + timedelta(days=2)
    return start + timedelta(days=(2 - start.weekday()) % 7)


def login(base_url: str) -> dict[str, Any]:
    body = {"email": PATIENT, "password": DEMO_PASSWORD}
    response = httpx.post(f"{base_url}/api/auth/login", json=body, timeout=30)
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['accessToken']}"}


def with_csrf(session: dict[str, Any]) -> dict[str, str]:
    return {**bearer(session), "X-CSRF-Token": session["csrfToken"]}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`serve(database_url, **env)`: a `portal serve` child with the fast timeouts."""
    with ExitStack() as stack:

        def start(database_url: str, **overrides: str) -> Server:
            log = tmp_path / f"server-{uuid.uuid4().hex[:6]}.log"
            env = server_env(
                database_url,
                STORAGE_PATH=str(tmp_path / "storage"),
                LOG_FORMAT="text",
                **{**FAST_TIMEOUTS, **overrides},
            )
            child = stack.enter_context(
                child_server.serving(
                    env, port=free_port(), log=log, startup_timeout=STARTUP_TIMEOUT_SECONDS
                )
            )
            return Server(child.base_url, log)

        yield start


@pytest.fixture
def mariadb_backend(tmp_path: Path) -> Iterator[Backend]:
    """A migrated, seeded MariaDB database of its own."""
    with temporary_mysql_database("portal_fault") as url:
        yield prepare_backend("mariadb", url, tmp_path / "storage")


@pytest.fixture
def mariadb_proxy(mariadb_backend: Backend) -> Iterator[TcpProxy]:
    url = sa.engine.make_url(mariadb_backend.url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 3306) as proxy:
        yield proxy


def through(proxy: TcpProxy, database_url: str) -> str:
    """`database_url` with its host and port replaced by the proxy's."""
    url = sa.engine.make_url(database_url).set(host=proxy.host, port=proxy.port)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Backend:
    return prepare_backend(
        "sqlite", f"sqlite:///{tmp_path / 'portal.sqlite3'}", tmp_path / "storage"
    )


@pytest.fixture
def redis_proxy() -> Iterator[tuple[TcpProxy, str]]:
    """A proxy to the test Redis, and the redis:// URL through it."""
    url = urlsplit(redis_url_or_skip())
    with TcpProxy(url.hostname or "127.0.0.1", url.port or 6379) as proxy:
        yield proxy, f"redis://{proxy.host}:{proxy.port}{url.path or '/0'}"
