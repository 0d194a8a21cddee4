"""Rows read as one JSON array each, built by the database, and turned back into the values their
columns' types return.

The MySQL driver parses every column of every row, and each column's description of every
result, in Python; one text column parsed by `json.loads` (C) costs a fraction of many. JSON
carries only text, numbers and null, so each value is converted back as its column's type
would: dates and times from ISO text (both databases write them so), datetimes likewise,
booleans from 0/1, then a `TypeDecorator`'s own `process_result_value` (UTC timestamps made
aware, PHI decrypted by its own type). JSON documents and decimals are packed as their text
(a cast), so that neither the database's JSON nor a float can change them, and parsed back from
it. Column types with no such conversion here (binary, intervals, ...) are refused when the
packing is built, not read wrongly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

_Convert = Callable[[Any, sa.Dialect], Any]


def _plain(value: Any, dialect: sa.Dialect) -> Any:
    return value


def _date(value: Any, dialect: sa.Dialect) -> Any:
    return None if value is None else date.fromisoformat(value)


def _time(value: Any, dialect: sa.Dialect) -> Any:
    return None if value is None else time.fromisoformat(value)


def _datetime(value: Any, dialect: sa.Dialect) -> Any:
    return None if value is None else datetime.fromisoformat(value)


def _boolean(value: Any, dialect: sa.Dialect) -> Any:
    return None if value is None else bool(value)


def _json(value: Any, dialect: sa.Dialect) -> Any:
    return None if value is None else json.loads(value)


def _decimal(value: Any, dialect: sa.Dialect) -> Any:
    return None if value is None else Decimal(value)


def _float(value: Any, dialect: sa.Dialect) -> Any:
    return None if value is None else float(value)


def _as_text(stored: sa.types.TypeEngine[Any]) -> _Convert | None:
    """How a value of the types packed as their text is parsed back; None for the others."""
    if isinstance(stored, sa.JSON):
        return _json
    if isinstance(stored, sa.Numeric):
        return _decimal if stored.asdecimal else _float
    return None


# By the type the value is stored as (a TypeDecorator's impl), most specific first.
_BY_STORED_TYPE: tuple[tuple[type[sa.types.TypeEngine[Any]], _Convert], ...] = (
    (sa.Boolean, _boolean),
    (sa.DateTime, _datetime),
    (sa.Date, _date),
    (sa.Time, _time),
    (sa.Enum, _plain),
    (sa.String, _plain),  # and Text
    (sa.Integer, _plain),
)


def _stored(column_type: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    return column_type.impl_instance if isinstance(column_type, sa.TypeDecorator) else column_type


def _converter(column_type: sa.types.TypeEngine[Any]) -> _Convert:
    stored = _stored(column_type)
    convert = _as_text(stored) or next(
        (c for kind, c in _BY_STORED_TYPE if isinstance(stored, kind)), None
    )
    if convert is None:
        raise TypeError(f"no packed reading for a {column_type!r} column")
    if not isinstance(column_type, sa.TypeDecorator):
        return convert
    decorated = column_type.process_result_value

    def converted(value: Any, dialect: sa.Dialect) -> Any:
        return decorated(convert(value, dialect), dialect)

    return converted


class _JsonArrayAgg(sa.sql.functions.FunctionElement[str]):
    """The aggregated rows' values as one JSON array (no rows: NULL on MariaDB, `[]` on SQLite)."""

    name = "json_arrayagg"
    type = sa.Text()
    inherit_cache = True


@compiles(_JsonArrayAgg)
def _json_arrayagg(element: _JsonArrayAgg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"JSON_ARRAYAGG({compiler.process(element.clauses, **kw)})"


@compiles(_JsonArrayAgg, "sqlite")
def _json_group_array(element: _JsonArrayAgg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


class Packed:
    """`columns` as one JSON array column (`column`, labelled `label`), and `unpack` to get
    their values back, in that order, as the columns' types return them."""

    def __init__(self, columns: Iterable[Any], label: str = "packed") -> None:
        columns = list(columns)  # column elements or ORM attributes
        self._array = sa.func.json_array(
            *(
                sa.cast(column, sa.Text) if _as_text(_stored(column.type)) else column
                for column in columns
            )
        )
        self.column = self._array.label(label)
        self._converters = tuple(
            (index, convert)
            for index, convert in enumerate(_converter(column.type) for column in columns)
            if convert is not _plain
        )

    def unpack(self, packed: str, dialect: sa.Dialect) -> list[Any]:
        return self._converted(json.loads(packed), dialect)

    def aggregated(self) -> sa.ColumnElement[str]:
        """The packed arrays of the rows a (sub)query aggregates, as one JSON array (in no
        particular order); `unpack_all` reads it back."""
        return _JsonArrayAgg(self._array)

    def unpack_all(self, packed: str | None, dialect: sa.Dialect) -> list[list[Any]]:
        """Each aggregated row's values, as `unpack` gives one row's (none for NULL). A value
        that is not whole JSON (MariaDB cuts an aggregate at `group_concat_max_len`) raises
        ValueError."""
        if packed is None:
            return []
        return [self._converted(values, dialect) for values in json.loads(packed)]

    def _converted(self, values: list[Any], dialect: sa.Dialect) -> list[Any]:
        for index, convert in self._converters:
            values[index] = convert(values[index], dialect)
        return values

    def one(
        self, connection: sa.Connection, statement: sa.Executable, parameters: dict[str, Any]
    ) -> list[Any] | None:
        """The values of the first row of `statement` (which selects `column` first), or None
        when it finds no row."""
        packed = connection.execute(statement, parameters).scalar()
        return None if packed is None else self.unpack(packed, connection.dialect)
