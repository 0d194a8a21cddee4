"""What an appointment is and what may be done to it when: types, lengths, video visits, and
the rules for moving and cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
RESCHEDULE_NOTICE = timedelta(hours=2)
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
    """Why this appointment may not be moved now, or None if it may."""
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
    """Why this appointment may not be cancelled now, or None if it may."""
    if status == "cancelled":
        return "The appointment is already cancelled"
    if status not in CHANGEABLE_STATUSES:
        return f"Cannot cancel an appointment that is {status.replace('_', '-')}"
    if start.astimezone(UTC) <= now.astimezone(UTC):
        return "Cannot cancel a past appointment"
    return None


def enough_notice_to_change(start: datetime, now: datetime) -> bool:
    """An appointment may be moved only while at least two hours remain before it."""
    return start.astimezone(UTC) - now.astimezone(UTC) >= RESCHEDULE_NOTICE
