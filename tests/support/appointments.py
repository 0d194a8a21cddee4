"""Helpers shared by the appointment tests: the frozen clock, seeded ids, a free time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Appointment, ProviderAvailability, ProviderProfile, User
from models.appointments.rules.slots import WEEKDAY_NAMES as WEEKDAYS

NY = ZoneInfo("America/New_York")
# Noon in the clinic on the seed day (a Wednesday); every test of these files runs at it
# unless it travels elsewhere.
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=NY)
NEXT_WEDNESDAY = date(2026, 12, 2)
REASON = "Persistent headaches for two weeks"


def user_id(session: Session, email: str) -> str:
    found = session.scalar(sa.select(User.id).where(User.email == email))
    assert found is not None, email
    return found


def open_times(session: Session, provider_id: str, day: date, minutes: int = 30) -> list[str]:
    """'hh:mm AM' starts inside the provider's windows that day, clear of live bookings.

    Written independently of models.appointments.rules.slots so the tests do not grade the code
    with itself.
    """
    profile_id = session.scalar(
        sa.select(ProviderProfile.id).where(ProviderProfile.user_id == provider_id)
    )
    windows = session.execute(
        sa.select(ProviderAvailability.start_time, ProviderAvailability.end_time).where(
            ProviderAvailability.provider_id == profile_id,
            ProviderAvailability.day_of_week == WEEKDAYS[day.weekday()],
            ProviderAvailability.is_active.is_(True),
        )
    ).all()
    booked = session.execute(
        sa.select(Appointment.start_time, Appointment.duration).where(
            Appointment.provider_id == provider_id,
            Appointment.date == day,
            Appointment.status != "cancelled",
        )
    ).all()
    found = []
    for start, end in sorted(windows):
        at = datetime.combine(day, start)
        while at + timedelta(minutes=minutes) <= datetime.combine(day, end):
            clear = all(
                at + timedelta(minutes=minutes) <= datetime.combine(day, b_start)
                or datetime.combine(day, b_start) + timedelta(minutes=b_minutes) <= at
                for b_start, b_minutes in booked
            )
            if clear and at.minute in (0, 30):
                found.append(at.strftime("%I:%M %p"))
            at += timedelta(minutes=30)
    return found


def booking(provider_id: str, day: date, at: str, **extra: Any) -> dict[str, Any]:
    body = {
        "providerId": provider_id,
        "date": day.isoformat(),
        "time": at,
        "type": "routine_checkup",
        "reason": REASON,
    }
    body.update(extra)
    return body


def to_time(text: str) -> time:
    return datetime.strptime(text, "%I:%M %p").time()


def stored(session: Session, appointment_id: str) -> Appointment | None:
    """The row as committed now (a new transaction, so no stale snapshot)."""
    session.rollback()
    return session.get(Appointment, appointment_id)


def live_rows_at(session: Session, provider_id: str, day: date, at: str) -> int:
    session.rollback()
    return (
        session.scalar(
            sa.select(sa.func.count(Appointment.id)).where(
                Appointment.provider_id == provider_id,
                Appointment.date == day,
                Appointment.start_time == to_time(at),
                Appointment.status != "cancelled",
            )
        )
        or 0
    )
