"""Migrations build the schema from empty, match the models, and go back down to empty."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from portal import migrate
from tests.conftest import mariadb_required, mysql_server_url


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def empty_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    server = mysql_server_url()
    if server is None:
        if mariadb_required():
            pytest.fail("REQUIRE_MARIADB=1 but MariaDB is not reachable")
        pytest.skip("MariaDB not reachable (set TEST_MYSQL_URL)")
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


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_to_head_then_down_to_base(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    assert table_names(empty_database) == set(models.Base.metadata.tables)

    engine = sa.create_engine(empty_database)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, models.Base.metadata)
    engine.dispose()
    assert differences == [], "models and migrations disagree; add a revision"

    migrate.downgrade(empty_database)
    assert table_names(empty_database) == set()
    migrate.upgrade(empty_database)  # and the way up works again after a full round trip
    assert table_names(empty_database) == set(models.Base.metadata.tables)
