"""Revision issue3_reschedule_reason goes up and down cleanly on SQLite and MariaDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from portal import migrate
from tests.conftest import mariadb_required, mysql_server_url


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def empty_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    server = mysql_server_url()
    if server is None:
        message = "MariaDB not reachable (set TEST_MYSQL_URL or start MariaDB on 127.0.0.1:3306)"
        if mariadb_required():
            pytest.fail(f"REQUIRE_MARIADB=1 but {message}")
        pytest.skip(message)
    name = f"portal_migr_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


def _columns(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("appointments")}
    finally:
        engine.dispose()


def test_reschedule_reason_column_up_and_down(empty_database: str) -> None:
    migrate.upgrade(empty_database, "issue3_reschedule_reason")
    assert "reschedule_reason" in _columns(empty_database)
    migrate.downgrade(empty_database, "0001")
    columns = _columns(empty_database)
    assert "reschedule_reason" not in columns
    assert {"start_time", "active_slot", "cancellation_reason"} <= columns
    migrate.upgrade(empty_database, "issue3_reschedule_reason")
    assert "reschedule_reason" in _columns(empty_database)
    migrate.downgrade(empty_database, "base")
