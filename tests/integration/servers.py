"""Real server processes for tests that need real sockets (browsers, several workers).

Ports come from PORTAL_TEST_PORTS (default 3400-3499), so parallel runs on one machine can be
given disjoint ranges.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import DEMO_PASSWORD, TEST_SECRET, TEST_STORAGE_KEY

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 60  # generous: CI machines can be busy


def port_range() -> range:
    low, _, high = os.environ.get("PORTAL_TEST_PORTS", "3400-3499").partition("-")
    return range(int(low), int(high) + 1)


def free_port() -> int:
    for port in port_range():
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {port_range()}")


def server_env(database_url: str, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_SECRET,
        "STORAGE_ENCRYPTION_KEY": TEST_STORAGE_KEY,
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "LOG_LEVEL": "warning",
    }
    env.update(overrides)
    return env


@contextmanager
def running_server(env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """`portal serve` on 127.0.0.1 in a child process; yields its base URL, stops it after."""
    port = port or free_port()
    command = [sys.executable, "-m", "portal.cli", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, base_url)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"server exited with {process.returncode}: {stderr[-2000:]}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {base_url} did not answer within {STARTUP_TIMEOUT_SECONDS}s")
