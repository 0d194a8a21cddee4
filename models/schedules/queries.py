"""Statements of schedule changes: the provider's lock, its locations' zones, its windows and
the bookings a change could leave outside them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

import sqlalchemy as sa
from sqlalchemy.orm import Session

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
