"""What a provider's day looks like to the slot rules: working windows and live bookings.

`load_day` is the one query behind every "is this time free?" question (available slots,
booking, rescheduling); `models.scheduling.free_slots` then answers it without the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.appointments import Appointment
from models.providers import ProviderAvailability, ProviderLocation, ProviderProfile
from models.scheduling import WEEKDAY_NAMES, Booking, Window


@dataclass(frozen=True)
class ProviderDay:
    """A provider's active availability windows and non-cancelled bookings on one day."""

    profile: ProviderProfile
    windows: list[Window]
    bookings: list[Booking]


def find_provider(
    session: Session, provider_user_id: str, *, for_update: bool = False
) -> ProviderProfile | None:
    """The provider profile of a doctor's user id, or None.

    With `for_update`, the profile row is locked until the transaction ends: every booking
    change of one provider takes this lock first, so they run one after another (SQLite
    ignores it; there the write transaction already holds the database's write lock).
    """
    query = sa.select(ProviderProfile).where(ProviderProfile.user_id == provider_user_id)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def load_day(
    session: Session,
    provider_user_id: str,
    day: date,
    *,
    for_update: bool = False,
    ignore_appointment_id: str | None = None,
) -> ProviderDay | None:
    """Windows and bookings of provider `provider_user_id` (a users.id) on `day`, or None when
    there is no such provider. `ignore_appointment_id` leaves one booking out (the one being
    moved, whose old slot does not block its new one)."""
    profile = find_provider(session, provider_user_id, for_update=for_update)
    if profile is None:
        return None
    windows = [
        Window(start, end)
        for start, end in session.execute(
            sa.select(ProviderAvailability.start_time, ProviderAvailability.end_time)
            .where(
                ProviderAvailability.provider_id == profile.id,
                ProviderAvailability.day_of_week == WEEKDAY_NAMES[day.weekday()],
                ProviderAvailability.is_active.is_(True),
            )
            .order_by(ProviderAvailability.start_time)
        )
    ]
    booked = sa.select(Appointment.start_time, Appointment.duration).where(
        Appointment.provider_id == provider_user_id,
        Appointment.date == day,
        Appointment.status != "cancelled",
    )
    if ignore_appointment_id is not None:
        booked = booked.where(Appointment.id != ignore_appointment_id)
    bookings = [Booking(start, minutes) for start, minutes in session.execute(booked)]
    return ProviderDay(profile, windows, bookings)


def primary_location(session: Session, profile: ProviderProfile) -> str | None:
    """The provider's primary address on one line, or None when none is marked primary."""
    location = session.scalar(
        sa.select(ProviderLocation)
        .where(ProviderLocation.provider_id == profile.id, ProviderLocation.is_primary.is_(True))
        .limit(1)
    )
    return None if location is None else location.one_line
