"""Real server processes for tests that need real sockets (browsers, several workers).

Ports come from PORTAL_TEST_PORTS (default 3400-3499, `tests.support.ports`), so parallel runs
on one machine can be given disjoint ranges.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import DEMO_PASSWORD, TEST_SECRET, TEST_STORAGE_KEY
from tests.support import child_server, ports

STARTUP_TIMEOUT_SECONDS = 60  # generous: CI machines can be busy


def free_port() -> int:
    """A free port of the test range (PORTAL_TEST_PORTS)."""
    return ports.free_port()


def server_env(database_url: str, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_SECRET,
        "STORAGE_ENCRYPTION_KEY": TEST_STORAGE_KEY,
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "LOG_LEVEL": "warning",
        # the tests' servers share a database the fixtures restore behind their back (and a
        # development server would write var/ of the working directory)
        "AUDIT_CHECKPOINT": "off",
    }
    env.update(overrides)
    return env


@contextmanager
def running_server(env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """`portal serve` on 127.0.0.1 in a child process; yields its base URL, stops it after."""
    with child_server.serving(
        env, port=port or free_port(), startup_timeout=STARTUP_TIMEOUT_SECONDS
    ) as server:
        yield server.base_url
