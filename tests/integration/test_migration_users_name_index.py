"""Revision `issue4` (index on users' names for the ordered provider search) goes up and down."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import migrate
from tests.conftest import mariadb_required, mysql_server_url

INDEX = "ix_users_last_name_first_name"


def _user_indexes(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {index["name"] for index in sa.inspect(engine).get_indexes("users")}
    finally:
        engine.dispose()


def _up_down_up(url: str) -> None:
    migrate.upgrade(url)
    assert INDEX in _user_indexes(url)
    migrate.downgrade(url, "0001")
    assert INDEX not in _user_indexes(url)
    migrate.upgrade(url)
    assert INDEX in _user_indexes(url)


def test_index_revision_up_and_down_on_sqlite(tmp_path: Path) -> None:
    _up_down_up(f"sqlite:///{tmp_path / 'migration.sqlite3'}")


@pytest.mark.mariadb
def test_index_revision_up_and_down_on_mariadb() -> None:
    server = mysql_server_url()
    if server is None:
        if mariadb_required():
            pytest.fail("REQUIRE_MARIADB=1 but MariaDB is not reachable")
        pytest.skip("MariaDB not reachable")
    name = f"portal_test_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        _up_down_up(sa.engine.make_url(server).set(database=name).render_as_string(False))
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()
