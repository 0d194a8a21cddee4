"""The `issue6b` revision (audit chain head) migrates up and down, on SQLite and MariaDB,
and matches the model."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from portal import migrate
from tests.conftest import mariadb_required, mysql_server_url


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    server = mysql_server_url()
    if server is None:
        if mariadb_required():
            pytest.fail("REQUIRE_MARIADB=1 but MariaDB is not reachable")
        pytest.skip("MariaDB not reachable")
    name = f"portal_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        yield sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_up_down_up(empty_database: str):
    migrate.upgrade(empty_database)
    assert "audit_chain_heads" in _tables(empty_database)
    engine = sa.create_engine(empty_database)
    with engine.connect() as connection:
        heads = connection.execute(sa.text("SELECT name, last_hash FROM audit_chain_heads")).all()
        assert [tuple(h) for h in heads] == [("audit_logs", None)]
        diff = compare_metadata(MigrationContext.configure(connection), models.Base.metadata)
    engine.dispose()
    assert [d for d in diff if "audit_chain_heads" in repr(d)] == []

    migrate.downgrade(empty_database, "0001")
    tables = _tables(empty_database)
    assert "audit_chain_heads" not in tables and "audit_logs" in tables
    migrate.upgrade(empty_database)
    assert "audit_chain_heads" in _tables(empty_database)
    migrate.downgrade(empty_database)
    assert _tables(empty_database) <= {"alembic_version"}
