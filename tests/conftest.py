"""Shared fixtures: a migrated, seeded database per backend (SQLite always, MariaDB when one is
reachable), restored to its seeded state before every test, and an app bound to it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from connexion import FlaskApp

import models
from kernel.settings import Settings, load_settings
from portal.ops import migrate
from portal.ops.demo.seed import seed
from portal.runtime import Services, build_services
from portal.web.app import create_app
from security.tokens import TokenService
from tests.support import mariadb as private_mariadb
from tests.support.mariadb import ReplicationPair

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
TEST_STORAGE_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
DEMO_PASSWORD = "portal-demo-2025"
SEED_DAY = date(2026, 11, 25)
DEFAULT_MYSQL_SERVER = "mysql+pymysql://root@127.0.0.1:3306/test"


def mysql_server_url() -> str | None:
    """TEST_MYSQL_URL, or the local MariaDB if it answers; None when there is none."""
    url = os.environ.get("TEST_MYSQL_URL") or DEFAULT_MYSQL_SERVER
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return url
    except sa.exc.OperationalError:
        return None


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_url_or_skip() -> str:
    """The test Redis (TEST_REDIS_URL); skips the test (fails it under REQUIRE_REDIS=1) when none
    answers."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        message = f"Redis not reachable at {REDIS_URL} (set TEST_REDIS_URL)"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {message}")
        pytest.skip(message)
    return REDIS_URL


def mariadb_required() -> bool:
    return os.environ.get("REQUIRE_MARIADB") == "1"


def checkpoint_path(storage_path: Path) -> Path:
    """The audit checkpoint log of the backend whose files are under `storage_path`."""
    return storage_path.parent / f"{storage_path.name}-audit-checkpoints.log"


def make_settings(database_url: str, storage_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_env": "test",
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "audit_checkpoint": f"file://{checkpoint_path(storage_path)}",
        "storage_path": str(storage_path),
        "storage_encryption_key": TEST_STORAGE_KEY,
        "rate_limit_enabled": False,
        "demo_password": DEMO_PASSWORD,
        "validate_responses": True,
        # One app per test process: the revocation poll (for several processes without Redis)
        # would add a query to whichever request runs when it is due, and the statement-count
        # tests would count it. The tests of the poll set it.
        "session_revocation_poll_seconds": 0,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass
class Backend:
    """A migrated, seeded database and how to put it back to its seeded state."""

    name: str
    url: str
    storage_path: Path
    snapshot: dict[str, list[dict[str, Any]]]

    def restore(self, engine: sa.Engine) -> None:
        tables = models.Base.metadata.sorted_tables
        with engine.begin() as connection:
            if connection.dialect.name == "mysql":
                connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
            for table in reversed(tables):
                connection.execute(table.delete())
            for table in tables:
                if rows := self.snapshot[table.name]:
                    connection.execute(table.insert(), rows)
            if connection.dialect.name == "mysql":
                connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")


def _writable_columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [c for c in table.columns if c.computed is None]


def take_snapshot(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as connection:
        return {
            table.name: [
                dict(row._mapping)
                for row in connection.execute(sa.select(*_writable_columns(table)))
            ]
            for table in models.Base.metadata.sorted_tables
        }


def prepare_backend(name: str, url: str, storage_path: Path) -> Backend:
    migrate.upgrade(url)
    current = build_services(make_settings(url, storage_path))
    current.db.run(
        lambda session: seed(session, current.storage, demo_password=DEMO_PASSWORD, today=SEED_DAY)
    )
    snapshot = take_snapshot(current.db.engine)
    current.db.dispose()
    return Backend(name, url, storage_path, snapshot)


@pytest.fixture(scope="session")
def mysql_database() -> Iterator[str]:
    with temporary_mysql_database("portal_test") as url:
        yield url


def mysql_server_or_skip() -> str:
    """The MariaDB server URL; skips the test (fails it under REQUIRE_MARIADB=1) without one."""
    server = mysql_server_url()
    if server is None:
        message = "MariaDB not reachable (set TEST_MYSQL_URL or start MariaDB on 127.0.0.1:3306)"
        if mariadb_required():
            pytest.fail(f"REQUIRE_MARIADB=1 but {message}")
        pytest.skip(message)
    return server


@contextmanager
def temporary_mysql_database(prefix: str) -> Iterator[str]:
    """A new, empty, uniquely named database on the test server, dropped afterwards."""
    server = mysql_server_or_skip()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server)
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    try:
        yield sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)],
)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    storage = tmp_path_factory.mktemp(f"storage-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.sqlite3'}"
    else:
        url = request.getfixturevalue("mysql_database")
    return prepare_backend(request.param, url, storage)


@pytest.fixture(scope="session")
def backend_app(backend: Backend) -> Iterator[tuple[FlaskApp, Services]]:
    settings = make_settings(backend.url, backend.storage_path)
    current = build_services(settings)
    yield create_app(settings, current), current
    current.db.dispose()


@pytest.fixture
def app(backend_app: tuple[FlaskApp, Services], backend: Backend) -> FlaskApp:
    """The backend's app, its database put back to the seeded state."""
    flask_app, current = backend_app
    backend.restore(current.db.engine)
    # the restored chain starts again where the seed left it; so do its checkpoints
    checkpoint_path(backend.storage_path).unlink(missing_ok=True)
    current.search_directory.clear()  # the restore rewrote providers behind the app's back
    return flask_app


@pytest.fixture
def services(app: FlaskApp, backend_app: tuple[FlaskApp, Services]) -> Services:
    return backend_app[1]


@pytest.fixture
def client(app: FlaskApp):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def db_session(services: Services) -> Iterator[sa.orm.Session]:
    session = services.db.new_session()
    yield session
    session.close()


@pytest.fixture
def auth(services: Services):  # type: ignore[no-untyped-def]
    """`auth("patient1@example.com")` -> headers with a valid bearer and CSRF token."""
    return AuthHeaders(services)


class AuthHeaders:
    def __init__(self, current: Services) -> None:
        self.current = current
        self.tokens: TokenService = current.tokens

    def user(self, email: str) -> models.User:
        with self.current.db.new_session() as session:
            user = session.scalar(sa.select(models.User).where(models.User.email == email))
            assert user is not None, email
            session.expunge(user)
            return user

    def __call__(self, email: str) -> dict[str, str]:
        from kernel.clock import utcnow

        user = self.user(email)
        session_id = str(uuid.uuid4())
        token = self.tokens.issue_access_token(
            user_id=user.id, email=user.email, role=user.role, session_id=session_id, now=utcnow()
        )
        return {
            "Authorization": f"Bearer {token}",
            "X-CSRF-Token": self.tokens.csrf_token(session_id),
        }


def private_mariadb_or_skip() -> None:
    """Skips the test (fails it under REQUIRE_MARIADB=1) where private MariaDB servers
    (tests/support/mariadb.py) cannot run."""
    if reason := private_mariadb.unavailable_reason():
        if mariadb_required():
            pytest.fail(f"REQUIRE_MARIADB=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def replication_pair_for_session() -> Iterator[ReplicationPair]:
    """A private MariaDB primary and replica (tests/support/mariadb.py), started on first use."""
    private_mariadb_or_skip()
    with private_mariadb.replication_pair() as pair:
        yield pair


@pytest.fixture
def replication_pair(replication_pair_for_session: ReplicationPair) -> Iterator[ReplicationPair]:
    """The session's pair, put back to a running, caught-up replica after the test."""
    yield replication_pair_for_session
    replication_pair_for_session.heal()
