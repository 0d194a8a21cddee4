"""Statements on the audit trail: appending entries (several in one INSERT), the chain head,
sealing a batch, and the admin's listing."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from models.audit.rules import HASHED_COLUMNS
from models.audit.tables import AUDIT_CHAIN, AuditChainHead, AuditLog
from security.audit import AuditRecord

# The columns an appended entry fills, in the order of the INSERT's values.
_APPENDED = (
    "timestamp", "user_id", "user_role", "action", "resource", "resource_id", "ip",
    "user_agent", "request_id", "status", "details", "subject",
)  # fmt: skip


class _EntryInsert(NamedTuple):
    """The INSERT of entries as driver SQL for one dialect, and the columns' bind processors
    (the UTC timestamp, the JSON details) as SQLAlchemy would apply them."""

    sql: str
    timestamp: Callable[[Any], Any]
    details: Callable[[Any], Any]


@functools.cache
def _entry_insert(dialect: sa.Dialect) -> _EntryInsert:
    # Driver SQL: every audited request runs it, and SQLAlchemy's compiled path (parameter
    # construction, type processing per value) costs more than the statement's round trip.
    # pymysql sends an executemany of it as one INSERT of many rows.
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    table = cast(sa.Table, AuditLog.__table__)

    def processor(column: str) -> Callable[[Any], Any]:
        process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        return process if process is not None else (lambda value: value)

    return _EntryInsert(
        f"INSERT INTO {table.name} ({', '.join(_APPENDED)}) "
        f"VALUES ({', '.join([mark] * len(_APPENDED))})",
        processor("timestamp"),
        processor("details"),
    )


def append(session: Session, record: AuditRecord, now: datetime | None = None) -> None:
    """Add `record` as a new, not yet sealed, entry, in the session's transaction."""
    append_many(session.connection(), [record], now)


def append_many(
    connection: sa.Connection, records: Sequence[AuditRecord], now: datetime | None = None
) -> None:
    """Add `records` as new, not yet sealed, entries, in that order (their ids ascend) and with
    one timestamp, in one INSERT of the connection's transaction."""
    insert = _entry_insert(connection.dialect)
    timestamp = insert.timestamp(now or utcnow())
    rows = [
        (
            timestamp,
            record.user_id,
            record.user_role,
            record.action,
            record.resource,
            record.resource_id,
            record.ip,
            (record.user_agent or "")[:500] or None,
            record.request_id,
            record.status,
            insert.details(record.details or None),
            record.subject,
        )
        for record in records
    ]
    connection.exec_driver_sql(insert.sql, rows[0] if len(rows) == 1 else rows)


def lock_head(session: Session) -> AuditChainHead:
    """The chain head, locked until the transaction ends (created if the table is empty)."""
    head = session.scalar(
        sa.select(AuditChainHead)
        .where(AuditChainHead.name == AUDIT_CHAIN)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if head is None:
        head = AuditChainHead(name=AUDIT_CHAIN)
        session.add(head)
        session.flush()
    return head


_ANY_PENDING = (
    sa.select(cast(sa.Table, AuditLog.__table__).c.id)
    .where(cast(sa.Table, AuditLog.__table__).c.seq.is_(None))
    .limit(1)
)


def any_pending(session: Session) -> bool:
    """Whether a committed entry waits to be sealed (the index on `seq` answers it)."""
    return session.connection().execute(_ANY_PENDING).first() is not None


def pending(session: Session, limit: int) -> list[Any]:
    """Up to `limit` committed, unsealed entries, oldest id first, with their hashed columns."""
    table = AuditLog.__table__
    return list(
        session.execute(
            sa.select(*(table.c[name] for name in ("id", *HASHED_COLUMNS)))
            .where(table.c.seq.is_(None))
            .order_by(table.c.id)
            .limit(limit)
        ).all()
    )


def write_links(
    session: Session,
    seqs: dict[int, int],
    prev_hashes: dict[int, str | None],
    hashes: dict[int, str],
) -> None:
    """One UPDATE giving a batch of entries their links, and only entries still unsealed (a
    sealed entry is never rewritten). Written as driver SQL: SQLAlchemy's compiler takes
    time quadratic in the number of CASE parameters, and pymysql's executemany sends one UPDATE
    per row."""
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    ids = list(seqs)
    columns: list[str] = []
    params: list[int | str | None] = []
    for column, values in (("seq", seqs), ("prev_hash", prev_hashes), ("hash", hashes)):
        columns.append(f"{column} = CASE id {f'WHEN {mark} THEN {mark} ' * len(ids)}END")
        for entry_id in ids:
            params += [entry_id, values[entry_id]]
    in_list = ", ".join([mark] * len(ids))
    session.connection().exec_driver_sql(
        f"UPDATE {AuditLog.__tablename__} SET {', '.join(columns)} "
        f"WHERE seq IS NULL AND id IN ({in_list})",
        (*params, *ids),
    )


@dataclass(frozen=True)
class AuditFilters:
    """The admin listing's filters; the dates are clinic days, both included."""

    user_id: str | None = None
    action: str | None = None
    resource_id: str | None = None
    subject_id: str | None = None
    start_date: date | None = None
    end_date: date | None = None

    def described(self) -> dict[str, str]:
        """The filters given, as the audit entry of the listing names them."""
        given = {
            "userId": self.user_id,
            "action": self.action,
            "resourceId": self.resource_id,
            "subjectId": self.subject_id,
            "startDate": self.start_date.isoformat() if self.start_date else None,
            "endDate": self.end_date.isoformat() if self.end_date else None,
        }
        return {name: value for name, value in given.items() if value is not None}


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def search(
    session: Session, filters: AuditFilters, zone: ZoneInfo, page: int, limit: int
) -> tuple[list[AuditLog], int]:
    """One page of entries matching `filters`, newest first, and the total count."""
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.user_id:
        conditions.append(AuditLog.user_id == filters.user_id)
    if filters.action:
        conditions.append(AuditLog.action == filters.action)
    if filters.resource_id:
        conditions.append(AuditLog.resource_id == filters.resource_id)
    if filters.subject_id:
        conditions.append(AuditLog.subject == filters.subject_id)
    if filters.start_date:
        conditions.append(AuditLog.timestamp >= _midnight(filters.start_date, zone))
    if filters.end_date:
        conditions.append(
            AuditLog.timestamp < _midnight(filters.end_date + timedelta(days=1), zone)
        )
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(*conditions))
    rows = session.scalars(
        sa.select(AuditLog)
        .where(*conditions)
        .order_by(AuditLog.id.desc())
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    return list(rows), int(total or 0)
