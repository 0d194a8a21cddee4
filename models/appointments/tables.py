"""The calendar's tables: appointments (one row per booking; the start is a real TIME so it sorts
chronologically) and the weekly availability windows they are booked in."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.appointments.rules.slots import WEEKDAY_NAMES, starts_at
from models.appointments.rules.visits import APPOINTMENT_STATUSES, APPOINTMENT_TYPES
from models.base import (
    Base,
    UtcDateTime,
    created_at_column,
    enum_column,
    id_column,
    updated_at_column,
)
from security.phi import EncryptedText


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
    reschedule_reason: Mapped[str | None] = mapped_column(
        EncryptedText("appointments.reschedule_reason")
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The SEQUENCE of the appointment's calendar invitation: one more at every change.
    calendar_sequence: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    active_slot: Mapped[int | None] = mapped_column(
        sa.Integer,
        sa.Computed("CASE WHEN status = 'cancelled' THEN NULL ELSE 1 END", persisted=True),
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    def starts_at(self, zone: ZoneInfo) -> datetime:
        """The start as an instant, from the clinic wall-clock date and time."""
        return starts_at(self.date, self.start_time, zone)


class ProviderAvailability(Base):
    """A weekly window in clinic-local wall time, e.g. monday 09:00-12:00."""

    __tablename__ = "provider_availability"
    __table_args__ = (
        sa.Index("ix_provider_availability_provider_day", "provider_id", "day_of_week"),
        sa.CheckConstraint("start_time < end_time", name="window_order"),
    )

    id: Mapped[str] = id_column()
    provider_id: Mapped[str] = mapped_column(
        sa.ForeignKey("provider_profiles.id", ondelete="CASCADE"), nullable=False
    )
    day_of_week: Mapped[str] = enum_column("day_of_week", WEEKDAY_NAMES, nullable=False)
    start_time: Mapped[time] = mapped_column(sa.Time, nullable=False)
    end_time: Mapped[time] = mapped_column(sa.Time, nullable=False)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
