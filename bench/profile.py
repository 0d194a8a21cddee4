"""`make profile`: where one request's time goes inside the app (no HTTP server, no network).

Calls the ASGI app directly, in production settings on a seeded SQLite database, N times for
GET /health and GET /api/auth/me (a spec-validated, authenticated GET), prints requests/s per
core and writes pyinstrument's call tree to bench/results/profile-<endpoint>.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import LOAD_PHI_KEYS, LOAD_STORAGE_KEY, RESULTS


def build_app(workdir: Path) -> tuple[Any, dict[str, str]]:
    """A production-mode app on a fresh seeded SQLite file, and headers of a logged-in patient."""
    import uuid

    from kernel.clock import utcnow
    from kernel.settings import load_settings
    from portal.ops import migrate
    from portal.ops.demo.seed import seed
    from portal.runtime import build_services
    from portal.web.app import create_app

    url = f"sqlite:///{workdir / 'profile.sqlite3'}"
    settings = load_settings(
        app_env="production",
        jwt_secret="profile-secret-that-is-long-enough-0123456789",
        database_url=url,
        storage_path=str(workdir / "files"),
        phi_encryption_keys=LOAD_PHI_KEYS,
        storage_encryption_key=LOAD_STORAGE_KEY,
        audit_chain_key="profile-audit-chain-key-that-is-long-enough-0123",
        audit_checkpoint=f"file://{workdir / 'audit-checkpoints.log'}",
        rate_limit_max_requests=10**9,  # the limiter's work is measured, its 429s are not
    )
    migrate.upgrade(url)
    current = build_services(settings)
    from datetime import date

    current.db.run(
        lambda s: seed(s, current.storage, demo_password="x", today=date.today(), providers=2)
    )
    from sqlalchemy import select

    from models import User

    with current.db.new_session() as session:
        user = session.scalar(select(User).where(User.email == "patient1@example.com"))
        assert user is not None
        token = current.tokens.issue_access_token(
            user_id=user.id, email=user.email, role=user.role, session_id=str(uuid.uuid4()),
            now=utcnow(),
        )  # fmt: skip
    return create_app(settings, current), {"authorization": f"Bearer {token}"}


def asgi_get(app: Any, path: str, headers: dict[str, str]) -> Callable[[], Any]:
    """A coroutine factory that sends one GET through the whole ASGI stack."""
    raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]

    async def call() -> int:
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": [(b"host", b"localhost"), *raw_headers],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 3000),
        }  # fmt: skip
        await app(scope, receive, send)
        return status

    return call


async def _run(call: Callable[[], Any], count: int) -> float:
    status = await call()  # the first request builds the middleware stack
    assert status == 200, status
    started = time.perf_counter()
    for _ in range(count):
        await call()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        app, auth = build_app(Path(workdir))
        for name, path, headers in (("health", "/health", {}), ("me", "/api/auth/me", auth)):
            call = asgi_get(app, path, headers)
            rate = asyncio.run(_run(call, args.requests))
            print(f"GET {path}: {rate:.0f} requests/s in one process (no HTTP server)")
            if args.no_profile:
                continue
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005, async_mode="enabled")
            profiler.start()
            asyncio.run(_run(call, args.requests // 2))
            profiler.stop()
            out = RESULTS / f"profile-{name}.txt"
            out.write_text(profiler.output_text(unicode=False, color=False, show_all=True))
            print(f"  call tree: {out}")


if __name__ == "__main__":
    main()
