"""`portal serve` logs one line per request, its own: no uvicorn access line, no library notes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET, TEST_STORAGE_KEY
from tests.support import child_server

PORTS = range(3700, 3800)  # this project's port range for servers started by tests


def test_every_request_gives_exactly_one_line_and_it_is_ours(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "JWT_SECRET": TEST_SECRET,
        "STORAGE_ENCRYPTION_KEY": TEST_STORAGE_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "STORAGE_PATH": str(tmp_path / "files"),
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "info",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "server.log"
    requests = {
        "ok": ("GET", "/health?probe=1", {}),
        "no-token": ("GET", "/api/auth/csrf-token", {}),
        "bad-token": ("GET", "/api/auth/me", {"Authorization": "Bearer not-a-jwt"}),
        "invalid": ("POST", "/api/auth/login", {"Content-Type": "application/json"}),
        "unknown": ("GET", "/api/no-such-route", {}),
    }
    with child_server.serving(env, port=child_server.free_port(PORTS), log=log) as server:
        for request_id, (method, path, headers) in requests.items():
            httpx.request(
                method,
                server.base_url + path,
                headers={**headers, "X-Request-ID": request_id},
                content=b"{}" if method == "POST" else None,
                timeout=30,
            )
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    for request_id in requests:
        mine = [line for line in lines if line.get("requestId") == request_id]
        assert [line["logger"] for line in mine] == ["portal.request"], (request_id, mine)
    assert not any(line["logger"] == "uvicorn.access" for line in lines)
    (bad_token,) = [line for line in lines if line.get("requestId") == "bad-token"]
    assert bad_token["level"] == "warning" and bad_token["status"] == 401
    (invalid,) = [line for line in lines if line.get("requestId") == "invalid"]
    assert invalid["status"] == 400 and invalid["error"]
