"""Revision `issue4` (index on users' names for the ordered provider search) goes up and down."""

from __future__ import annotations

import sqlalchemy as sa

from portal.ops import migrate

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


def test_index_revision_up_and_down(empty_database: str) -> None:
    _up_down_up(empty_database)
