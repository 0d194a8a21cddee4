"""The calendar's tables: appointments (one row per booking; the start is a real TIME so it sorts
chronologically), the weekly availability windows they are booked in, and the changes to single
dates (time off, extra hours)."""

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
    # The IANA zone of the location the visit is at, fixed when it is booked; NULL (rows older
    # than per-location zones): the clinic's zone.
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))
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
        """The start as an instant, from the wall-clock date and time (in the appointment's own
        zone when it has one, else in `zone`, the clinic's)."""
        return starts_at(self.date, self.start_time, self.zone_or(zone))

    def zone_or(self, clinic_zone: ZoneInfo) -> ZoneInfo:
        """The zone of the appointment's location, or the clinic's for rows without one."""
        return ZoneInfo(self.time_zone) if self.time_zone else clinic_zone


class ProviderAvailability(Base):
    """A weekly window in the wall time of its location, e.g. monday 09:00-12:00."""

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
    # Where the window is worked (its zone is the location's); NULL: no location, clinic zone.
    location_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("provider_locations.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class ProviderTimeOff(Base):
    """Time the provider does not work, from a start to an end in wall time: whole days from
    `start_date` to `end_date`, narrowed by `start_time` on the first day and `end_time` on the
    last (a half day: one date with a start or an end)."""

    __tablename__ = "provider_time_off"
    __table_args__ = (
        sa.Index("ix_provider_time_off_provider_dates", "provider_id", "end_date", "start_date"),
        sa.CheckConstraint("start_date <= end_date", name="time_off_order"),
    )

    id: Mapped[str] = id_column()
    provider_id: Mapped[str] = mapped_column(
        sa.ForeignKey("provider_profiles.id", ondelete="CASCADE"), nullable=False
    )
    start_date: Mapped[date] = mapped_column(sa.Date, nullable=False)
    end_date: Mapped[date] = mapped_column(sa.Date, nullable=False)
    start_time: Mapped[time | None] = mapped_column(sa.Time)
    end_time: Mapped[time | None] = mapped_column(sa.Time)
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class ProviderExtraHours(Base):
    """Hours worked on one date beyond the weekly windows, at one location."""

    __tablename__ = "provider_extra_hours"
    __table_args__ = (
        sa.Index("ix_provider_extra_hours_provider_date", "provider_id", "date"),
        sa.Index("ix_provider_extra_hours_date", "date"),
        sa.CheckConstraint("start_time < end_time", name="extra_hours_order"),
    )

    id: Mapped[str] = id_column()
    provider_id: Mapped[str] = mapped_column(
        sa.ForeignKey("provider_profiles.id", ondelete="CASCADE"), nullable=False
    )
    date: Mapped[date] = mapped_column(sa.Date, nullable=False)
    start_time: Mapped[time] = mapped_column(sa.Time, nullable=False)
    end_time: Mapped[time] = mapped_column(sa.Time, nullable=False)
    location_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("provider_locations.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
