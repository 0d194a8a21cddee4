"""The `issue6b` revision (audit chain head) migrates up and down, on SQLite and MariaDB,
and matches the model."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from portal.ops import migrate


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
