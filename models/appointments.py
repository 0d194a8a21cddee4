"""Appointments: one row per booking; start time is a real TIME so it sorts chronologically."""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    UtcDateTime,
    created_at_column,
    enum_column,
    id_column,
    updated_at_column,
)
from security.phi import EncryptedText

APPOINTMENT_TYPES = (
    "routine_checkup",
    "follow_up",
    "consultation",
    "urgent_care",
    "procedure",
    "lab_work",
    "vaccination",
    "telehealth",
)
APPOINTMENT_STATUSES = (
    "scheduled",
    "confirmed",
    "checked_in",
    "completed",
    "cancelled",
    "no_show",
)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        sa.Index("ix_appointments_patient_date", "patient_id", "date"),
        sa.Index("ix_appointments_provider_date", "provider_id", "date"),
        # At most one live booking per provider and start; cancelled rows drop out because
        # active_slot is NULL for them and NULLs never collide in a unique index.
        sa.Index(
            "uq_appointments_active_slot",
            "provider_id",
            "date",
            "start_time",
            "active_slot",
            unique=True,
        ),
    )

    id: Mapped[str] = id_column()
    patient_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    provider_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    date: Mapped[date] = mapped_column(sa.Date, nullable=False, index=True)
    start_time: Mapped[time] = mapped_column(sa.Time, nullable=False)
    type: Mapped[str] = enum_column("appointment_type", APPOINTMENT_TYPES, nullable=False)
    status: Mapped[str] = enum_column(
        "appointment_status", APPOINTMENT_STATUSES, nullable=False, default="scheduled", index=True
    )
    reason: Mapped[str] = mapped_column(EncryptedText("appointments.reason"), nullable=False)
    notes: Mapped[str | None] = mapped_column(EncryptedText("appointments.notes"))
    is_virtual: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    virtual_meeting_url: Mapped[str | None] = mapped_column(sa.String(500))
    location: Mapped[str | None] = mapped_column(sa.String(500))
    duration: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=30)
    check_in_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    check_out_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancellation_reason: Mapped[str | None] = mapped_column(
        EncryptedText("appointments.cancellation_reason")
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active_slot: Mapped[int | None] = mapped_column(
        sa.Integer,
        sa.Computed("CASE WHEN status = 'cancelled' THEN NULL ELSE 1 END", persisted=True),
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
