"""Migrations build the schema from empty, match the models, and go back down to empty."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from portal.ops import migrate


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
