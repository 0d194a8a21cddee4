"""Statements of schedule changes: the provider's lock, its locations' zones, its windows, the
bookings a change could leave outside them, and the starts open before and after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.clock import Clock
from models.appointments.queries.availability import load_bookings, load_weekly_windows
from models.appointments.queries.schedules import load_changes
from models.appointments.rules.schedules import holds, windows_on
from models.appointments.rules.slots import (
    SLOT_GRID_MINUTES,
    WEEKDAY_NAMES,
    Booking,
    booking_horizon,
    clinic_today,
    free_slots,
    starts_at,
    zone_of_day,
)
from models.appointments.rules.visits import CHANGEABLE_STATUSES
from models.appointments.tables import (
    Appointment,
    ProviderAvailability,
    ProviderExtraHours,
    ProviderTimeOff,
)
from models.providers.tables import ProviderLocation, ProviderProfile


@dataclass(frozen=True)
class BookedVisit:
    id: str
    day: date
    start: time
    minutes: int
    time_zone: str | None


def lock_provider(session: Session, provider_user_id: str) -> ProviderProfile | None:
    """The provider's profile row, locked until the transaction ends: the same row booking,
    rescheduling and cancelling lock first (`queries.availability.load_day`), so a schedule
    change and a booking of one provider run one after the other."""
    return session.scalars(
        sa.select(ProviderProfile)
        .where(ProviderProfile.user_id == provider_user_id)
        .with_for_update()
    ).first()


def locations_of(session: Session, profile_id: str) -> list[ProviderLocation]:
    """The provider's locations, the primary one first."""
    return list(
        session.scalars(
            sa.select(ProviderLocation)
            .where(ProviderLocation.provider_id == profile_id)
            .order_by(ProviderLocation.is_primary.desc(), ProviderLocation.created_at)
        )
    )


def windows_of(session: Session, profile_id: str) -> list[ProviderAvailability]:
    return list(
        session.scalars(
            sa.select(ProviderAvailability)
            .where(ProviderAvailability.provider_id == profile_id)
            .order_by(ProviderAvailability.day_of_week, ProviderAvailability.start_time)
        )
    )


def delete_windows(session: Session, profile_id: str) -> None:
    session.execute(
        sa.delete(ProviderAvailability).where(ProviderAvailability.provider_id == profile_id)
    )


def time_off_of(session: Session, profile_id: str, since: date) -> list[ProviderTimeOff]:
    """The provider's time off ending on or after `since`, earliest first."""
    return list(
        session.scalars(
            sa.select(ProviderTimeOff)
            .where(ProviderTimeOff.provider_id == profile_id, ProviderTimeOff.end_date >= since)
            .order_by(ProviderTimeOff.start_date, ProviderTimeOff.id)
        )
    )


def extra_hours_of(session: Session, profile_id: str, since: date) -> list[ProviderExtraHours]:
    """The provider's extra hours on or after `since`, earliest first."""
    return list(
        session.scalars(
            sa.select(ProviderExtraHours)
            .where(ProviderExtraHours.provider_id == profile_id, ProviderExtraHours.date >= since)
            .order_by(ProviderExtraHours.date, ProviderExtraHours.start_time)
        )
    )


def booked_visits(
    session: Session, provider_user_id: str, first: date, last: date
) -> list[BookedVisit]:
    """The provider's appointments from `first` to `last` that still hold their time and may
    still be changed (scheduled, confirmed), earliest first."""
    rows = session.execute(
        sa.select(
            Appointment.id,
            Appointment.date,
            Appointment.start_time,
            Appointment.duration,
            Appointment.time_zone,
        )
        .where(
            Appointment.provider_id == provider_user_id,
            Appointment.date.between(first, last),
            Appointment.status.in_(sorted(CHANGEABLE_STATUSES)),
        )
        .order_by(Appointment.date, Appointment.start_time)
    )
    return [BookedVisit(*row) for row in rows]


def bookable_span(clock: Clock) -> tuple[date, date]:
    """The dates a booking can be on, a day wider each way (locations east and west of the
    clinic may be on another date)."""
    today = clinic_today(clock.now, clock.zone)
    return today - timedelta(days=1), booking_horizon(today) + timedelta(days=1)


def open_starts(session: Session, provider_user_id: str, clock: Clock) -> set[tuple[date, time]]:
    """Every (date, start) at which a slot of the grid's length can be booked now."""
    first, last = bookable_span(clock)
    weekly = load_weekly_windows(session, [provider_user_id])[provider_user_id]
    changes = load_changes(session, [provider_user_id], first, last)[provider_user_id]
    bookings = load_bookings(session, [provider_user_id], first, last)[provider_user_id]
    found: set[tuple[date, time]] = set()
    day = first
    while day <= last:
        windows = windows_on(day, weekly.get(WEEKDAY_NAMES[day.weekday()], []), changes.get(day))
        if windows:
            zone = zone_of_day(windows, clock.zone)
            starts = free_slots(
                windows, bookings.get(day, []), day, SLOT_GRID_MINUTES, clock.now, zone
            )
            found.update((day, start) for start in starts)
        day += timedelta(days=1)
    return found


def holding(session: Session, provider_user_id: str, clock: Clock) -> dict[str, bool]:
    """For each future changeable booking of the provider: does it lie inside its day's hours?"""
    first, last = bookable_span(clock)
    weekly = load_weekly_windows(session, [provider_user_id])[provider_user_id]
    changes = load_changes(session, [provider_user_id], first, last)[provider_user_id]
    held = {}
    for visit in booked_visits(session, provider_user_id, first, last):
        start = starts_at(visit.day, visit.start, zone_named(visit.time_zone, clock))
        if start <= clock.now:
            continue
        windows = windows_on(
            visit.day, weekly.get(WEEKDAY_NAMES[visit.day.weekday()], []), changes.get(visit.day)
        )
        held[visit.id] = holds(windows, Booking(visit.start, visit.minutes)) is not None
    return held


def zone_named(name: str | None, clock: Clock) -> ZoneInfo:
    """A named zone, or the clinic's for none."""
    return ZoneInfo(name) if name else clock.zone
