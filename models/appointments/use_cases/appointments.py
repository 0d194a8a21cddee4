"""What the API does with appointments: list and read them, book, reschedule, cancel (by the
patient or, for them, by the front desk), and the free slots of a provider's day; the
lifecycle's status changes are in `lifecycle`.

Every change runs as one unit of work and first locks the provider's profile row, so two changes
touching one provider's calendar never interleave; the unique index `uq_appointments_active_slot`
is the last line of defence behind that lock.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.clock import Clock, utcnow
from kernel.database import reads, writes
from kernel.errors import InvalidInput
from models.appointments.errors import (
    AppointmentNotFound,
    ChangedMeanwhile,
    ChangeRefused,
    NotAcceptingNewPatients,
    PatientNotFound,
    ProviderNotFound,
    SlotTaken,
)
from models.appointments.queries import appointments as appointment_queries
from models.appointments.queries import lifecycle as lifecycle_queries
from models.appointments.queries.appointments import (
    AppointmentDetail,
    AppointmentFilters,
    ForChange,
    ListedAppointment,
)
from models.appointments.queries.availability import (
    ProviderDay,
    has_seen,
    load_day,
    provider_name,
)
from models.appointments.rules.schedules import holds
from models.appointments.rules.slots import (
    Booking,
    booking_horizon,
    clinic_today,
    format_time_of_day,
    free_slots,
    within_booking_horizon,
)
from models.appointments.rules.visits import (
    duration_for,
    is_virtual_visit,
    refusal_to_cancel,
    refusal_to_reschedule,
)
from models.appointments.tables import Appointment
from models.base import new_id
from models.notifications import use_cases as notifications
from models.notifications.rules import Visit, invitation
from models.notifications.use_cases import OutboxPolicy
from models.providers.queries import location_line, primary_location
from security import audit
from security.identity import PATIENT, Identity
from security.policy.appointments import (
    appointment_scope,
    require_appointment_changer,
    require_appointment_viewer,
    require_booking_for,
    require_may_cancel,
)

SLOT_INDEX = "uq_appointments_active_slot"


@dataclass(frozen=True)
class FreedSlot:
    """A start a change has just given up: the provider's clinic wall-clock day and time, and
    how many minutes were booked there."""

    provider_id: str
    day: date
    start: time
    minutes: int


# Called once inside the unit of work of every change that frees a slot (a cancellation or a
# reschedule away, by the patient or by staff for them), after the change is written and with
# the provider locked, so whatever it writes (the waitlist's offers and their messages) commits
# or rolls back with the change. The layer above passes it down: the appointments know nothing
# of who waits for their slots. A no-show frees nothing: its start has passed.
SlotFreed = Callable[[Session, FreedSlot, Clock], None]


def _slot_of(appointment: Appointment) -> FreedSlot:
    """The start the appointment holds now, as the slot it frees when it leaves it."""
    return FreedSlot(
        appointment.provider_id, appointment.date, appointment.start_time, appointment.duration
    )


@dataclass(frozen=True)
class Place:
    """Where a visit is held: the location (None: none known), its address on one line, and
    its zone (None: the clinic's)."""

    location_id: str | None
    address: str | None
    zone: str | None


@dataclass(frozen=True)
class BookingRequest:
    provider_id: str
    day: date
    start: time
    type: str
    reason: str
    notes: str | None
    is_virtual: bool
    # Named by a nurse or an admin booking on the patient's behalf; a patient books for themselves.
    patient_id: str | None = None


def _check_day(day: date, clock: Clock, zone: ZoneInfo) -> None:
    """The day is today or later, up to the horizon, both as the location's zone (`zone`) has
    them."""
    today = clinic_today(clock.now, zone)
    if day < today:
        raise InvalidInput.field("date", "must be today or a future date")
    if not within_booking_horizon(day, today):
        last = booking_horizon(today).isoformat()
        raise InvalidInput.field("date", f"cannot be more than 6 months ahead (last: {last})")


def _check_slot(schedule: ProviderDay, day: date, start: time, minutes: int, clock: Clock) -> None:
    """400 when `start` is not one of the provider's slots that day, 409 when it is taken."""
    zone = schedule.zone(clock.zone)
    offered = free_slots(schedule.windows, [], day, minutes, clock.now, zone)
    if start not in offered:
        raise InvalidInput.field(
            "time",
            f"{format_time_of_day(start)} is not one of the provider's available times "
            f"on {day.isoformat()}",
        )
    free = free_slots(schedule.windows, schedule.bookings, day, minutes, clock.now, zone)
    if start not in free:
        raise SlotTaken()


def _place(session: Session, schedule: ProviderDay, start: time, minutes: int) -> Place:
    """Where a visit starting at `start` is held: its window's location and zone."""
    window = holds(schedule.windows, Booking(start, minutes))
    location_id = window.location_id if window else ""
    address = None
    if location_id:  # the weekday's windows' addresses came with the day; extra hours' may not
        address = schedule.addresses.get(location_id) or location_line(session, location_id)
    return Place(
        location_id or None,
        address or primary_location(session, schedule.profile.id),
        window.zone if window and window.zone else None,
    )


def _slot_violation(exc: IntegrityError) -> bool:
    """Did the write break the unique-slot index?"""
    return SLOT_INDEX in str(exc.orig) or "UNIQUE constraint failed: appointments" in str(exc.orig)


def insert_slot(session: Session, appointment: Appointment) -> None:
    """Write a new appointment's row now, turning a unique-slot violation into 409."""
    try:
        appointment_queries.insert_appointment(session, appointment)
    except IntegrityError as exc:
        if _slot_violation(exc):
            raise SlotTaken() from exc
        raise


def meeting_url(base_url: str) -> str:
    """An unguessable link for a video visit."""
    return f"{base_url.rstrip('/')}/{secrets.token_urlsafe(16)}"


@reads
def list_appointments(
    session: Session, identity: Identity, filters: AppointmentFilters, page: int, limit: int
) -> tuple[list[ListedAppointment], int]:
    """One page of the appointments the caller may see, earliest first, and the total."""
    scope = appointment_scope(identity)
    audit.note(subject=scope.patient_id or filters.patient_id)
    rows, total = appointment_queries.list_appointments(session, scope, filters, page, limit)
    audit.note(details={"count": len(rows)})
    return rows, total


@reads
def get_appointment(session: Session, identity: Identity, appointment_id: str) -> AppointmentDetail:
    row = appointment_queries.appointment_detail(session, appointment_id)
    if row is None:
        raise AppointmentNotFound()
    audit.note(subject=row.patient_id)
    require_appointment_viewer(identity, row.patient_id, row.provider_id)
    return row


@dataclass(frozen=True)
class DaySlots:
    """The free start times of a provider's day, in the wall time of `zone`."""

    starts: list[time]
    zone: ZoneInfo


@reads
def available_slots(
    session: Session, provider_id: str, day: date, duration_minutes: int, clock: Clock
) -> DaySlots:
    """The provider's free start times on `day`, in the day's zone."""
    provider_day = load_day(session, provider_id, day)
    if provider_day is None:
        raise ProviderNotFound()
    zone = provider_day.zone(clock.zone)
    starts = free_slots(
        provider_day.windows, provider_day.bookings, day, duration_minutes, clock.now, zone
    )
    return DaySlots(starts, zone)


def visit_of(appointment: Appointment, provider: str, clock: Clock) -> Visit:
    """The appointment as its patient's messages describe it."""
    return Visit(
        appointment_id=appointment.id,
        day=appointment.date,
        start=appointment.start_time,
        minutes=appointment.duration,
        zone=appointment.zone_or(clock.zone).key,
        provider=provider,
        location=appointment.location,
        meeting_url=appointment.virtual_meeting_url,
        status=appointment.status,
        sequence=appointment.calendar_sequence,
    )


def book_in(
    session: Session,
    identity: Identity,
    request: BookingRequest,
    clock: Clock,
    meeting_base: str,
    outbox: OutboxPolicy,
) -> Appointment:
    """Create a scheduled appointment on a free slot of the provider, for the calling patient or,
    booked by the front desk, for the patient it names; in the caller's unit of work (`book`
    owns one; the waitlist's accept runs it in its own)."""
    patient_id = require_booking_for(identity, request.patient_id)
    on_behalf = patient_id != identity.user_id or not identity.has_role(PATIENT)
    if on_behalf and not lifecycle_queries.is_active_patient(session, patient_id):
        raise PatientNotFound()
    audit.note(
        subject=patient_id,
        details={
            "providerId": request.provider_id,
            "date": request.day.isoformat(),
            "time": request.start.strftime("%H:%M"),
        },
    )
    schedule = load_day(session, request.provider_id, request.day, for_update=True)
    if schedule is None:
        raise ProviderNotFound()
    _check_day(request.day, clock, schedule.zone(clock.zone))
    if not schedule.profile.accepting_new_patients and not has_seen(
        session, patient_id, request.provider_id
    ):
        raise NotAcceptingNewPatients()
    minutes = duration_for(request.type)
    _check_slot(schedule, request.day, request.start, minutes, clock)
    place = _place(session, schedule, request.start, minutes)
    virtual = is_virtual_visit(request.type, request.is_virtual)
    written = utcnow()
    appointment = Appointment(
        id=new_id(),
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
        location=place.address,
        time_zone=place.zone,
        duration=minutes,
        calendar_sequence=0,
        created_at=written,
        updated_at=written,
    )
    # One prebuilt INSERT rather than the session's unit of work: the row is only written here,
    # and the caller reads the values set above.
    insert_slot(session, appointment)
    audit.note(resource_id=appointment.id)
    notifications.on_booked(
        session, visit_of(appointment, schedule.profile.name, clock), patient_id, clock.now, outbox
    )
    return appointment


book = writes(book_in)


def _read_for_change(
    session: Session,
    identity: Identity,
    appointment_id: str,
    allowed: Callable[[Identity, Appointment], None],
) -> ForChange:
    """The appointment with its provider's name, read as plain values and checked against
    `allowed` before the change locks anything (whose it is never changes)."""
    found = appointment_queries.for_change(session, appointment_id)
    if found is None:
        raise AppointmentNotFound()
    audit.note(subject=found.appointment.patient_id)
    allowed(identity, found.appointment)
    return found


# What a change writes, judged from the appointment as read (raising its refusal instead).
Judge = Callable[[Appointment], dict[str, Any]]


def _change(session: Session, read: Appointment, judge: Judge) -> tuple[FreedSlot, Appointment]:
    """Write what `judge` decides for the appointment as `read`, if its row has not changed since
    (one conditional UPDATE); else read the row again, locked, and judge that. The slot the
    appointment held when judged, and the appointment as written (a transient `Appointment`)."""
    current = read
    for _attempt in range(2):
        values = judge(current)
        try:
            written = appointment_queries.apply_change(session, current, values)
        except IntegrityError as exc:
            if _slot_violation(exc):
                raise SlotTaken() from exc
            raise
        if written:
            left = _slot_of(current)
            for key, value in values.items():
                setattr(current, key, value)
            return left, current
        found = appointment_queries.locked_for_change(session, current.id)
        if found is None:  # deleted since it was read
            raise AppointmentNotFound()
        current = found
    # The second attempt judged the row under its lock: only a lock not held gets here.
    raise ChangedMeanwhile("The appointment was changed meanwhile")


def _when(day: date, start: time) -> str:
    """A visit's clinic date and time as an audit entry names it (`2026-12-03T09:30`)."""
    return f"{day.isoformat()}T{start.strftime('%H:%M')}"


def _may_move(identity: Identity, appointment: Appointment) -> None:
    require_appointment_changer(identity, appointment.patient_id)


def _may_cancel(identity: Identity, appointment: Appointment) -> None:
    require_may_cancel(identity, appointment.patient_id, appointment.provider_id)


@writes
def reschedule(
    session: Session,
    identity: Identity,
    appointment_id: str,
    day: date,
    start: time,
    reason: str | None,
    clock: Clock,
    outbox: OutboxPolicy,
    slot_freed: SlotFreed,
) -> Appointment:
    """Move an appointment (its patient's, or the front desk's for them) to another free slot
    of the same provider; `slot_freed` hears of the start it leaves."""
    read = _read_for_change(session, identity, appointment_id, _may_move).appointment
    # Lock the provider first; the move is then written only if the row is still as judged.
    schedule = load_day(
        session, read.provider_id, day, for_update=True, ignore_appointment_id=read.id
    )

    def judge(appointment: Appointment) -> dict[str, Any]:
        refusal = refusal_to_reschedule(
            appointment.status, appointment.starts_at(clock.zone), clock.now
        )
        if refusal:
            raise ChangeRefused(refusal)
        if schedule is None:  # the provider's profile is gone; no slot can be offered
            raise InvalidInput.field("time", "the provider has no available times")
        _check_day(day, clock, schedule.zone(clock.zone))
        _check_slot(schedule, day, start, appointment.duration, clock)
        audit.note(details={"from": _when(appointment.date, appointment.start_time),
                            "to": _when(day, start)})  # fmt: skip
        place = _place(session, schedule, start, appointment.duration)
        return {
            "date": day,
            "start_time": start,
            "location": place.address,
            "time_zone": place.zone,
            "reschedule_reason": reason,
            "calendar_sequence": appointment.calendar_sequence + 1,
            "updated_at": utcnow(),
        }

    left, appointment = _change(session, read, judge)
    assert schedule is not None  # `judge` refused otherwise
    slot_freed(session, left, clock)
    notifications.on_rescheduled(
        session,
        visit_of(appointment, schedule.profile.name, clock),
        appointment.patient_id,
        clock.now,
        outbox,
    )
    return appointment


def check_expected(status: str, expected: str | None) -> None:
    """409 when the caller acted on a status the appointment no longer has."""
    if expected is not None and status != expected:
        raise ChangedMeanwhile(
            f"The appointment was changed meanwhile: its status is {status}, not {expected}"
        )


@writes
def cancel(
    session: Session,
    identity: Identity,
    appointment_id: str,
    reason: str,
    clock: Clock,
    outbox: OutboxPolicy,
    slot_freed: SlotFreed,
    expected_status: str | None = None,
) -> Appointment:
    """Cancel an appointment (by its patient, or by staff with a reason); its slot is free as
    soon as this commits, and `slot_freed` hears of it in the same unit of work."""
    found = _read_for_change(session, identity, appointment_id, _may_cancel)

    def judge(appointment: Appointment) -> dict[str, Any]:
        check_expected(appointment.status, expected_status)
        refusal = refusal_to_cancel(
            appointment.status, appointment.starts_at(clock.zone), clock.now
        )
        if refusal:
            raise ChangeRefused(refusal)
        return {
            "status": "cancelled",
            "cancelled_at": clock.now,
            "cancellation_reason": reason,
            "calendar_sequence": appointment.calendar_sequence + 1,
            "updated_at": utcnow(),
        }

    left, appointment = _change(session, found.appointment, judge)
    provider = provider_name(found.provider_first_name, found.provider_last_name)
    notifications.on_cancelled(
        session, visit_of(appointment, provider, clock), appointment.patient_id, clock.now, outbox
    )
    slot_freed(session, left, clock)
    return appointment


@reads
def calendar(
    session: Session, identity: Identity, appointment_id: str, clock: Clock, outbox: OutboxPolicy
) -> bytes:
    """The appointment as the iCalendar invitation its emails carry (CANCEL once cancelled)."""
    row = appointment_queries.get_appointment(session, appointment_id)
    if row is None:
        raise AppointmentNotFound()
    appointment = row.appointment
    audit.note(subject=appointment.patient_id)
    require_appointment_viewer(identity, appointment.patient_id, appointment.provider_id)
    provider = provider_name(row.provider.first_name, row.provider.last_name)
    method = "CANCEL" if appointment.status == "cancelled" else "REQUEST"
    return invitation(
        visit_of(appointment, provider, clock),
        outbox.mail_from,
        appointment_queries.email_of(session, appointment.patient_id),
        clock.now,
        method,
    )
