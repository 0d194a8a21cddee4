"""The real server for the contract step: its own database, migrated, seeded, served by uvicorn.

MariaDB when one answers (a uniquely named database, dropped afterwards), else SQLite in a
temporary folder. Rate limiting is off: the contract run sends thousands of requests.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import child_server

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "var" / "contract"
PORTAL = Path(sys.executable).with_name("portal")
DEFAULT_MYSQL_SERVER = "mysql+pymysql://root@127.0.0.1:3306/test"
DEMO_PASSWORD = "portal-demo-2025"


@dataclass(frozen=True)
class Login:
    """A demo user's session: the headers every request of that user carries."""

    email: str
    access_token: str
    csrf_token: str

    @property
    def headers(self) -> dict[str, str]:
        # The CSRF token rides on every request: harmless on GET, required on writes.
        return {"Authorization": f"Bearer {self.access_token}", "X-CSRF-Token": self.csrf_token}


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    database: str  # "mariadb" or "sqlite"
    log_path: Path

    def login(self, email: str, password: str = DEMO_PASSWORD) -> Login:
        body = json.dumps({"email": email, "password": password}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/api/auth/login",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            session = json.load(response)
        return Login(email, session["accessToken"], session["csrfToken"])


def _mysql_server() -> str | None:
    """TEST_MYSQL_URL, or the local MariaDB if it answers; None when none does."""
    import sqlalchemy as sa

    url = os.environ.get("TEST_MYSQL_URL") or DEFAULT_MYSQL_SERVER
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return url
    except sa.exc.OperationalError:
        return None


@contextmanager
def _database(kind: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """(name, url) of a fresh, empty database; a MariaDB one is dropped on the way out."""
    import sqlalchemy as sa

    server = _mysql_server() if kind in ("auto", "mariadb") else None
    if kind == "mariadb" and server is None:
        raise SystemExit("contract: --database mariadb but no MariaDB answers (TEST_MYSQL_URL)")
    if server is None:
        yield "sqlite", f"sqlite:///{workdir / 'portal.sqlite3'}"
        return
    name = f"portal_contract_{secrets.token_hex(5)}"
    admin = sa.create_engine(server)
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    try:
        yield (
            "mariadb",
            sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


@contextmanager
def running_server(port: int, database: str = "auto") -> Iterator[RunningServer]:
    """Migrate, seed and serve on 127.0.0.1:`port`; stop and clean up afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="portal-contract-"))
    try:
        with _database(database, workdir) as (kind, url):
            env = {
                **os.environ,
                "APP_ENV": "test",
                "DATABASE_URL": url,
                "JWT_SECRET": secrets.token_urlsafe(48),
                "STORAGE_ENCRYPTION_KEY": secrets.token_hex(32),
                "STORAGE_TYPE": "local",
                "STORAGE_PATH": str(workdir / "storage"),
                "RATE_LIMIT_ENABLED": "false",
                # Every response is checked against the spec by the server too.
                "VALIDATE_RESPONSES": "true",
                "DEMO_PASSWORD": DEMO_PASSWORD,
                "LOG_LEVEL": "warning",
            }
            for command in (["db", "upgrade"], ["db", "seed"]):
                done = subprocess.run(
                    [str(PORTAL), *command], env=env, cwd=ROOT, capture_output=True, text=True
                )
                if done.returncode != 0:
                    raise SystemExit(f"contract: portal {' '.join(command)} failed:\n{done.stderr}")
            REPORTS.mkdir(parents=True, exist_ok=True)
            log = REPORTS / "server.log"  # kept after the run, for the failures' request ids
            with child_server.serving(env, port=port, log=log, startup_timeout=60) as server:
                yield RunningServer(server.base_url, kind, log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
