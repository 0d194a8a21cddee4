"""`load_day`: the unlocked read (one packed statement) and the locked read (two packed statements)
answer the same day."""

from __future__ import annotations

import dataclasses
from datetime import date, time

import sqlalchemy as sa

from models import (
    Appointment,
    ProviderExtraHours,
    ProviderLocation,
    ProviderProfile,
    ProviderTimeOff,
    User,
)
from models.appointments.queries.availability import load_day
from models.appointments.rules.slots import Booking, Window
from tests.support.providers import book
from tests.support.schedules import WEST_ZONE, add_west_coast_doctor

MONDAY = date(2027, 1, 11)
SUNDAY = date(2027, 1, 10)


def _both_reads(services, provider: str, day: date):  # type: ignore[no-untyped-def]
    """The day read without and with the lock, each with its bookings as a set (neither
    statement orders them)."""
    with services.db.new_session() as session:
        unlocked = load_day(session, provider, day)
    with services.db.new_session() as session, session.begin():
        locked = load_day(session, provider, day, for_update=True)
    return tuple(
        None if read is None else dataclasses.replace(read, bookings=set(read.bookings))
        for read in (unlocked, locked)
    )


def test_a_day_with_time_off_extra_hours_and_bookings_reads_the_same_both_ways(
    services, db_session
):  # type: ignore[no-untyped-def]
    west = add_west_coast_doctor(db_session)
    profile = db_session.scalar(sa.select(ProviderProfile).where(ProviderProfile.user_id == west))
    assert profile is not None
    location = db_session.scalar(
        sa.select(ProviderLocation.id).where(ProviderLocation.provider_id == profile.id)
    )
    assert location is not None
    db_session.add_all(
        [
            ProviderTimeOff(
                provider_id=profile.id,
                start_date=MONDAY,
                end_date=MONDAY,
                start_time=time(10),
                end_time=time(11),
            ),
            ProviderExtraHours(
                provider_id=profile.id,
                date=MONDAY,
                start_time=time(16),
                end_time=time(17, 30),
                location_id=location,
            ),
        ]
    )
    db_session.commit()
    book(db_session, west, MONDAY, time(8, 30))
    book(db_session, west, MONDAY, time(9), status="cancelled")
    book(db_session, west, MONDAY, time(13), duration=60)

    unlocked, locked = _both_reads(services, west, MONDAY)

    assert unlocked == locked
    assert unlocked is not None
    assert unlocked.profile.id == profile.id and unlocked.profile.name.startswith("Dr. ")
    assert unlocked.windows == [
        Window(time(8), time(10), location, WEST_ZONE),
        Window(time(11), time(12), location, WEST_ZONE),
        Window(time(13), time(15), location, WEST_ZONE),
        Window(time(16), time(17, 30), location, WEST_ZONE),
    ]
    assert unlocked.bookings == {Booking(time(8, 30), 30), Booking(time(13), 60)}
    assert set(unlocked.addresses) == {location}


def test_a_day_without_windows_still_names_the_provider(services, db_session):  # type: ignore[no-untyped-def]
    west = add_west_coast_doctor(db_session)
    unlocked, locked = _both_reads(services, west, SUNDAY)
    assert unlocked == locked
    assert unlocked is not None
    assert unlocked.windows == [] and unlocked.bookings == set() and unlocked.addresses == {}


def test_an_unknown_or_deactivated_provider_has_no_day(services, db_session):  # type: ignore[no-untyped-def]
    west = add_west_coast_doctor(db_session)
    assert _both_reads(services, "no-such-provider", MONDAY) == (None, None)
    db_session.execute(sa.update(User).where(User.id == west).values(is_active=False))
    db_session.commit()
    assert _both_reads(services, west, MONDAY) == (None, None)


def test_the_locked_read_of_a_move_leaves_out_only_the_booking_being_moved(services, db_session):  # type: ignore[no-untyped-def]
    west = add_west_coast_doctor(db_session)
    book(db_session, west, MONDAY, time(8, 30))
    book(db_session, west, MONDAY, time(13), duration=60)
    moved = db_session.scalar(
        sa.select(Appointment.id).where(
            Appointment.provider_id == west, Appointment.start_time == time(13)
        )
    )
    with services.db.new_session() as session, session.begin():
        day = load_day(session, west, MONDAY, for_update=True, ignore_appointment_id=moved)
    assert day is not None and day.bookings == [Booking(time(8, 30), 30)]
    assert day.profile.name.startswith("Dr. ") and len(day.windows) == 2
