"""Revision issue3_reschedule_reason goes up and down cleanly on SQLite and MariaDB."""

from __future__ import annotations

import sqlalchemy as sa

from portal.ops import migrate


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
