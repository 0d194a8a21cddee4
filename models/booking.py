"""The use cases that change appointments: book, reschedule, cancel.

Each runs inside one write transaction (the caller's `Database.run`) and first locks the
provider's profile row, so two changes touching one provider's calendar never interleave; the
unique index `uq_appointments_active_slot` is the last line of defence behind that lock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.appointments import (
    SEEN_STATUSES,
    Appointment,
    duration_for,
    is_virtual_visit,
    refusal_to_cancel,
    refusal_to_reschedule,
)
from models.availability import ProviderDay, load_day, primary_location
from models.scheduling import (
    booking_horizon,
    clinic_today,
    format_time_of_day,
    free_slots,
    within_booking_horizon,
)
from portal.errors import Conflict, NotFound, Unprocessable, ValidationFailed
from security.identity import Identity
from security.policy import require_appointment_owner

SLOT_INDEX = "uq_appointments_active_slot"


class SlotTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("This time slot is no longer available")


@dataclass(frozen=True)
class Clock:
    """The current instant and the clinic's time zone: the two inputs of every time rule."""

    now: datetime
    zone: ZoneInfo


@dataclass(frozen=True)
class BookingRequest:
    provider_id: str
    day: date
    start: time
    type: str
    reason: str
    notes: str | None
    is_virtual: bool


def _check_day(day: date, clock: Clock) -> None:
    today = clinic_today(clock.now, clock.zone)
    if day < today:
        raise ValidationFailed.field("date", "must be today or a future date")
    if not within_booking_horizon(day, today):
        last = booking_horizon(today).isoformat()
        raise ValidationFailed.field("date", f"cannot be more than 6 months ahead (last: {last})")


def _check_slot(schedule: ProviderDay, day: date, start: time, minutes: int, clock: Clock) -> None:
    """400 when `start` is not one of the provider's slots that day, 409 when it is taken."""
    offered = free_slots(schedule.windows, [], day, minutes, clock.now, clock.zone)
    if start not in offered:
        raise ValidationFailed.field(
            "time",
            f"{format_time_of_day(start)} is not one of the provider's available times "
            f"on {day.isoformat()}",
        )
    free = free_slots(schedule.windows, schedule.bookings, day, minutes, clock.now, clock.zone)
    if start not in free:
        raise SlotTaken()


def _has_seen(session: Session, patient_id: str, provider_id: str) -> bool:
    return (
        session.scalar(
            sa.select(Appointment.id)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.provider_id == provider_id,
                Appointment.status.in_(SEEN_STATUSES),
            )
            .limit(1)
        )
        is not None
    )


def flush_slot(session: Session) -> None:
    """Write now, turning a unique-slot violation (a race past the lock) into 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        if SLOT_INDEX in str(exc.orig) or "UNIQUE constraint failed: appointments" in str(exc.orig):
            raise SlotTaken() from exc
        raise


def meeting_url(base_url: str) -> str:
    """An unguessable link for a video visit."""
    return f"{base_url.rstrip('/')}/{secrets.token_urlsafe(16)}"


def book(
    session: Session, patient_id: str, request: BookingRequest, clock: Clock, meeting_base: str
) -> Appointment:
    """Create a scheduled appointment on a free slot of the provider."""
    _check_day(request.day, clock)
    schedule = load_day(session, request.provider_id, request.day, for_update=True)
    if schedule is None:
        raise NotFound("Provider not found")
    if not schedule.profile.accepting_new_patients and not _has_seen(
        session, patient_id, request.provider_id
    ):
        raise Unprocessable("This provider is not accepting new patients")
    minutes = duration_for(request.type)
    _check_slot(schedule, request.day, request.start, minutes, clock)
    virtual = is_virtual_visit(request.type, request.is_virtual)
    appointment = Appointment(
        patient_id=patient_id,
        provider_id=request.provider_id,
        date=request.day,
        start_time=request.start,
        type=request.type,
        status="scheduled",
        reason=request.reason,
        notes=request.notes,
        is_virtual=virtual,
        virtual_meeting_url=meeting_url(meeting_base) if virtual else None,
        location=primary_location(session, schedule.profile),
        duration=minutes,
    )
    session.add(appointment)
    flush_slot(session)
    return appointment


def _appointment_for_change(
    session: Session, identity: Identity, appointment_id: str
) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("Appointment not found")
    require_appointment_owner(identity, appointment.patient_id)
    return appointment


def reschedule(
    session: Session,
    identity: Identity,
    appointment_id: str,
    day: date,
    start: time,
    reason: str | None,
    clock: Clock,
) -> Appointment:
    """Move the owner's appointment to another free slot of the same provider."""
    appointment = _appointment_for_change(session, identity, appointment_id)
    # Lock the provider first, then re-read the row, so a concurrent change to it is seen.
    schedule = load_day(
        session,
        appointment.provider_id,
        day,
        for_update=True,
        ignore_appointment_id=appointment.id,
    )
    session.refresh(appointment)
    refusal = refusal_to_reschedule(
        appointment.status, appointment.starts_at(clock.zone), clock.now
    )
    if refusal:
        raise Unprocessable(refusal)
    _check_day(day, clock)
    if schedule is None:  # the provider's profile is gone; no slot can be offered
        raise ValidationFailed.field("time", "the provider has no available times")
    _check_slot(schedule, day, start, appointment.duration, clock)
    appointment.date, appointment.start_time = day, start
    appointment.reschedule_reason = reason
    flush_slot(session)
    return appointment


def cancel(
    session: Session, identity: Identity, appointment_id: str, reason: str, clock: Clock
) -> Appointment:
    """Cancel the owner's appointment; its slot is free as soon as this commits."""
    appointment = _appointment_for_change(session, identity, appointment_id)
    session.refresh(appointment, with_for_update=True)
    refusal = refusal_to_cancel(appointment.status, appointment.starts_at(clock.zone), clock.now)
    if refusal:
        raise Unprocessable(refusal)
    appointment.status = "cancelled"
    appointment.cancelled_at = clock.now
    appointment.cancellation_reason = reason
    session.flush()
    return appointment
