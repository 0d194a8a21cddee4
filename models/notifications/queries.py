"""Statements on the outbox and the preferences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.accounts.tables import User
from models.notifications.tables import NotificationPreference, OutboxMessage

_OUTBOX = cast(sa.Table, OutboxMessage.__table__)


# Built once, with bound parameters, and run on the session's connection (after what the
# session holds is written, as its own execute would do first): no ORM execution path for them.
_INSERT_MESSAGES = sa.insert(_OUTBOX)
_SUPERSEDE_PENDING = (
    sa.update(_OUTBOX)
    .where(
        _OUTBOX.c.appointment_id == sa.bindparam("appointment"),
        _OUTBOX.c.status == "pending",
        _OUTBOX.c.kind.in_(sa.bindparam("kinds", expanding=True)),
    )
    .values(status="superseded")
)


def add_messages(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Write messages in the caller's transaction, in one statement."""
    if rows:
        session.flush()
        session.connection().execute(_INSERT_MESSAGES, list(rows))


def supersede_pending(session: Session, appointment_id: str, kinds: Sequence[str]) -> None:
    """Messages of these kinds not sent yet no longer apply (the visit moved or ended)."""
    session.flush()
    session.connection().execute(
        _SUPERSEDE_PENDING, {"appointment": appointment_id, "kinds": list(kinds)}
    )


@dataclass(frozen=True)
class Claimed:
    """A message a worker has claimed, with what sending it needs of its recipient."""

    id: str
    message_id: str
    kind: str
    payload: str
    attempts: int
    email: str
    name: str
    reminders: bool


def claim_due(session: Session, now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
    """Up to `limit` messages due now and not held by another worker's lease, held for this
    worker until `lease_until`. On MariaDB the rows are locked SKIP LOCKED, so concurrent workers
    claim disjoint messages; on SQLite the write transaction serialises them."""
    due: list[str] = list(
        session.scalars(
            sa.select(_OUTBOX.c.id)
            .where(
                _OUTBOX.c.status == "pending",
                _OUTBOX.c.next_attempt_at <= now,
                sa.or_(_OUTBOX.c.claimed_until.is_(None), _OUTBOX.c.claimed_until <= now),
            )
            .order_by(_OUTBOX.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        return []
    session.execute(
        sa.update(_OUTBOX).where(_OUTBOX.c.id.in_(due)).values(claimed_until=lease_until)
    )
    preference = (
        sa.select(NotificationPreference.reminders)
        .where(
            NotificationPreference.user_id == User.id,
            NotificationPreference.channel == _OUTBOX.c.channel,
        )
        .correlate(User, _OUTBOX)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(
            _OUTBOX.c.id,
            _OUTBOX.c.message_id,
            _OUTBOX.c.kind,
            _OUTBOX.c.payload,
            _OUTBOX.c.attempts,
            User.email,
            User.first_name,
            User.last_name,
            preference,
        )
        .join(User, User.id == _OUTBOX.c.recipient_id)
        .where(_OUTBOX.c.id.in_(due))
        .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.created_at)
    )
    return [
        Claimed(
            row.id,
            row.message_id,
            row.kind,
            row.payload,
            row.attempts,
            row.email,
            f"{row.first_name} {row.last_name}",
            row[8] is not False,  # no preference row: reminders on
        )
        for row in rows
    ]


def finish(session: Session, message_id: str, **values: Any) -> None:
    """Record the outcome of an attempt on a claimed message and release its lease."""
    session.execute(
        sa.update(_OUTBOX).where(_OUTBOX.c.id == message_id).values(claimed_until=None, **values)
    )


@dataclass(frozen=True)
class OutboxStats:
    by_status: dict[str, int]
    oldest_pending: datetime | None


def stats(session: Session, now: datetime) -> OutboxStats:
    counts = {
        str(status): cast(int, count)
        for status, count in session.execute(
            sa.select(_OUTBOX.c.status, sa.func.count(_OUTBOX.c.id)).group_by(_OUTBOX.c.status)
        )
    }
    oldest = session.scalar(
        sa.select(sa.func.min(_OUTBOX.c.created_at)).where(
            _OUTBOX.c.status == "pending", _OUTBOX.c.next_attempt_at <= now
        )
    )
    return OutboxStats(counts, oldest)


def messages(
    session: Session, status: str | None, page: int, limit: int
) -> tuple[list[OutboxMessage], int]:
    """One page of the outbox, newest first (the admin's view)."""
    conditions = [OutboxMessage.status == status] if status else []
    total = session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(*conditions)) or 0
    rows = session.scalars(
        sa.select(OutboxMessage)
        .where(*conditions)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id)
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    return list(rows), int(total)


def preferences_of(session: Session, user_id: str) -> dict[str, bool]:
    """The channels on which the patient chose (reminders on or off); the others default."""
    rows = session.execute(
        sa.select(NotificationPreference.channel, NotificationPreference.reminders).where(
            NotificationPreference.user_id == user_id
        )
    )
    return {str(channel): bool(reminders) for channel, reminders in rows}


def set_preference(
    session: Session, user_id: str, channel: str, reminders: bool, now: datetime
) -> None:
    found = session.get(NotificationPreference, (user_id, channel), with_for_update=True)
    if found is None:
        session.add(
            NotificationPreference(
                user_id=user_id, channel=channel, reminders=reminders, updated_at=now
            )
        )
    else:
        found.reminders, found.updated_at = reminders, now
    session.flush()
