"""Declarative base and the column types every table shares (ids, UTC timestamps, JSON)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return str(uuid.uuid4())


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Stored as naive UTC (DATETIME(6) on MariaDB), always returned timezone-aware in UTC."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: sa.JSON, list[str]: sa.JSON}


def id_column() -> Mapped[str]:
    return mapped_column(sa.String(36), primary_key=True, default=new_id)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(UtcDateTime, nullable=False, default=utcnow)


def updated_at_column() -> Mapped[datetime]:
    return mapped_column(UtcDateTime, nullable=False, default=utcnow, onupdate=utcnow)


def enum_column(name: str, values: tuple[str, ...], **kwargs: Any) -> Mapped[str]:
    """A closed set of strings: native ENUM on MariaDB, a CHECK constraint on SQLite."""
    return mapped_column(
        sa.Enum(*values, name=name, native_enum=True, create_constraint=True, length=32),
        **kwargs,
    )
