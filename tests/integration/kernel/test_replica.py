"""DATABASE_REPLICA_URL: request reads come from the replica, every write goes to the primary.

A second database of the same kind (a second MariaDB database, or a second SQLite file) stands in
for the replica; it holds the same seeded rows, except one name changed so reads can be traced.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

import models
from portal.ops import migrate
from portal.runtime import build_services
from portal.web.app import create_app
from tests.conftest import DEMO_PASSWORD, Backend, make_settings

REPLICA_NAME = "Replica"


@pytest.fixture
def replica_url(backend: Backend, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if backend.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'replica.sqlite3'}"
        return
    name = f"portal_replica_{uuid.uuid4().hex[:10]}"
    server = sa.engine.make_url(backend.url)
    admin = sa.create_engine(server.set(database=None))
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


@pytest.fixture
def replicated(backend: Backend, services, replica_url: str):  # type: ignore[no-untyped-def]
    """(test client, primary engine, replica engine) of an app reading from the replica."""
    migrate.upgrade(replica_url)
    replica = sa.create_engine(replica_url)
    backend.restore(replica)
    with replica.begin() as connection:
        connection.execute(
            sa.update(models.User)
            .where(models.User.email == "patient1@example.com")
            .values(first_name=REPLICA_NAME)
        )
    settings = make_settings(backend.url, backend.storage_path, database_replica_url=replica_url)
    current = build_services(settings)
    try:
        yield create_app(settings, current).test_client(), services.db.engine, replica
    finally:
        current.db.dispose()
        replica.dispose()


def refresh_tokens(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(models.RefreshToken))


def test_request_reads_come_from_the_replica(replicated, auth) -> None:  # type: ignore[no-untyped-def]
    client, _primary, _replica = replicated
    response = client.get("/api/auth/me", headers=auth("patient1@example.com"))
    assert response.status_code == 200
    assert response.json()["firstName"] == REPLICA_NAME


def test_writes_and_the_reads_inside_them_go_to_the_primary(replicated) -> None:  # type: ignore[no-untyped-def]
    client, primary, replica = replicated
    before_primary, before_replica = refresh_tokens(primary), refresh_tokens(replica)
    response = client.post(
        "/api/auth/login", json={"email": "patient1@example.com", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200
    # login reads the user inside its unit of work: the primary's name, not the replica's
    assert response.json()["user"]["firstName"] != REPLICA_NAME
    assert refresh_tokens(primary) == before_primary + 1
    assert refresh_tokens(replica) == before_replica


def test_without_a_replica_reads_use_the_primary(client, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/auth/me", headers=auth("patient1@example.com"))
    assert response.status_code == 200
    assert response.json()["firstName"] != REPLICA_NAME
