"""`portal serve --workers 2`: two worker processes on one port, metrics merged across them."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET, TEST_STORAGE_KEY
from tests.support import child_server

PORTS = range(3700, 3800)  # this project's port range for servers started by tests
METRICS_TOKEN = "serve-test-metrics-token-0123456789"


def worker_pids(parent: int) -> list[int]:
    """Children of `parent` that are multiprocessing-spawned workers (not the resource tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[child_server.ChildServer]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "JWT_SECRET": TEST_SECRET,
        "STORAGE_ENCRYPTION_KEY": TEST_STORAGE_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "STORAGE_PATH": str(tmp_path / "files"),
        "METRICS_TOKEN": METRICS_TOKEN,
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "warning",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # two app imports on a busy 2-core machine are slow
    with child_server.serving(
        env, port=child_server.free_port(PORTS), workers=2, startup_timeout=90
    ) as running:
        yield running


def test_two_workers_share_one_port_and_merge_their_metrics(
    server: child_server.ChildServer,
) -> None:
    base, process = server.base_url, server.process
    answered = 1  # the /health that told `serving` the server was up
    deadline = time.monotonic() + 60
    while len(worker_pids(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(worker_pids(process.pid)) == 2

    with httpx.Client(base_url=base, timeout=5) as client:
        for _ in range(40):
            # a new connection each time, so the kernel spreads them over both workers
            assert client.get("/health", headers={"Connection": "close"}).status_code == 200
            answered += 1
        text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    match = re.search(
        r'^portal_http_request_duration_seconds_count\{method="GET",operation="getHealth",'
        r'status="200"\} (\S+)$',
        text,
        re.M,
    )
    assert match, [line for line in text.splitlines() if "request_duration" in line][:20]
    # whichever worker answered the scrape, it counts the requests of both
    assert float(match.group(1)) == answered
