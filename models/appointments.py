"""Appointments: one row per booking; start time is a real TIME so it sorts chronologically."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

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
from models.scheduling import enough_notice_to_change, starts_at
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

DEFAULT_DURATION_MINUTES = 30
# Visit length by type; a type not listed takes DEFAULT_DURATION_MINUTES.
DURATION_MINUTES_BY_TYPE = {"procedure": 60}
# Types held over video whatever `isVirtual` says, so they always get a meeting link.
ALWAYS_VIRTUAL_TYPES = frozenset({"telehealth"})
# Only these may still be moved or cancelled; the others have happened or ended.
CHANGEABLE_STATUSES = frozenset({"scheduled", "confirmed"})
# A patient who has had one of these with a provider is an established patient of theirs.
SEEN_STATUSES = ("checked_in", "completed")


def duration_for(appointment_type: str) -> int:
    """Minutes booked for an appointment of this type."""
    return DURATION_MINUTES_BY_TYPE.get(appointment_type, DEFAULT_DURATION_MINUTES)


def is_virtual_visit(appointment_type: str, requested_virtual: bool) -> bool:
    return requested_virtual or appointment_type in ALWAYS_VIRTUAL_TYPES


def refusal_to_reschedule(status: str, start: datetime, now: datetime) -> str | None:
    """Why this appointment may not be moved now (plan 5.3), or None if it may."""
    if status == "cancelled":
        return "Cannot reschedule a cancelled appointment"
    if status not in CHANGEABLE_STATUSES:
        return f"Cannot reschedule an appointment that is {status.replace('_', '-')}"
    if start.astimezone(UTC) <= now.astimezone(UTC):
        return "Cannot reschedule a past appointment"
    if not enough_notice_to_change(start, now):
        return "Appointments can only be rescheduled at least 2 hours before their start"
    return None


def refusal_to_cancel(status: str, start: datetime, now: datetime) -> str | None:
    """Why this appointment may not be cancelled now (plan 5.3), or None if it may."""
    if status == "cancelled":
        return "The appointment is already cancelled"
    if status not in CHANGEABLE_STATUSES:
        return f"Cannot cancel an appointment that is {status.replace('_', '-')}"
    if start.astimezone(UTC) <= now.astimezone(UTC):
        return "Cannot cancel a past appointment"
    return None


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
    active_slot: Mapped[int | None] = mapped_column(
        sa.Integer,
        sa.Computed("CASE WHEN status = 'cancelled' THEN NULL ELSE 1 END", persisted=True),
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    def starts_at(self, zone: ZoneInfo) -> datetime:
        """The start as an instant, from the clinic wall-clock date and time."""
        return starts_at(self.date, self.start_time, zone)
