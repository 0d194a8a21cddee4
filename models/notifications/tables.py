"""The outbox (one row per message to send, written in the transaction of the change that
causes it) and each patient's notification preferences."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime, created_at_column, enum_column, id_column
from models.notifications.rules import CHANNELS, MESSAGE_KINDS, MESSAGE_STATUSES
from security.phi import EncryptedText


class OutboxMessage(Base):
    """One message to one patient. `message_id` is its RFC 5322 Message-ID, fixed when the
    message is written, so a copy sent again after a crash is recognisably the same message.
    `payload` holds what the message says (dates, provider, place; never a reason or note), as
    JSON sealed like every other PHI column."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        sa.Index("ix_notification_outbox_status_next", "status", "next_attempt_at"),
        sa.Index("ix_notification_outbox_appointment", "appointment_id"),
    )

    id: Mapped[str] = id_column()
    message_id: Mapped[str] = mapped_column(sa.String(255), nullable=False, unique=True)
    kind: Mapped[str] = enum_column("notification_kind", MESSAGE_KINDS, nullable=False)
    channel: Mapped[str] = enum_column("notification_channel", CHANNELS, nullable=False)
    status: Mapped[str] = enum_column(
        "notification_status", MESSAGE_STATUSES, nullable=False, default="pending"
    )
    recipient_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    appointment_id: Mapped[str | None] = mapped_column(sa.String(36))
    payload: Mapped[str] = mapped_column(
        EncryptedText("notification_outbox.payload"), nullable=False
    )
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = created_at_column()


class NotificationPreference(Base):
    """Whether a patient wants reminders on a channel (confirmations of their own actions and
    notices of changes always go). No row means the default: reminders on."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = enum_column("notification_channel", CHANNELS, primary_key=True)
    reminders: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = created_at_column()
