"""Reading appointments: one page of a listing, or one appointment, each with its provider.

The provider (user and profile) comes from the same joined query as the appointments, so a
page costs two queries (rows and count) however many rows it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from models.accounts.tables import User
from models.appointments.tables import Appointment
from models.providers.tables import ProviderProfile
from security.policy.appointments import AppointmentScope


@dataclass(frozen=True)
class AppointmentFilters:
    status: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    provider_id: str | None = None
    # The staff's filters (a front desk's "today"): the location as the appointment states it,
    # and one patient.
    location: str | None = None
    patient_id: str | None = None


@dataclass(frozen=True)
class AppointmentWithProvider:
    appointment: Appointment
    provider: User
    profile: ProviderProfile | None


def _conditions(scope: AppointmentScope, filters: AppointmentFilters) -> list[Any]:
    conditions: list[Any] = []
    if scope.patient_id is not None:
        conditions.append(Appointment.patient_id == scope.patient_id)
    if scope.provider_id is not None:
        conditions.append(Appointment.provider_id == scope.provider_id)
    if filters.status is not None:
        conditions.append(Appointment.status == filters.status)
    if filters.start_date is not None:
        conditions.append(Appointment.date >= filters.start_date)
    if filters.end_date is not None:
        conditions.append(Appointment.date <= filters.end_date)
    if filters.provider_id is not None:
        conditions.append(Appointment.provider_id == filters.provider_id)
    if filters.location is not None:
        conditions.append(Appointment.location == filters.location)
    if filters.patient_id is not None:
        conditions.append(Appointment.patient_id == filters.patient_id)
    return conditions


# Appointments with the provider columns their wire format shows (and no others: the MySQL
# driver's per-column cost is a large part of a list's time). Built once: building its loader
# options per request costs more than running it, for a statement that never changes.
_WITH_PROVIDER = (
    sa.select(Appointment, User, ProviderProfile)
    .join(User, User.id == Appointment.provider_id)
    .outerjoin(ProviderProfile, ProviderProfile.user_id == User.id)
    .options(
        load_only(User.first_name, User.last_name, User.phone, User.email, raiseload=True),
        load_only(
            ProviderProfile.specialty, ProviderProfile.npi, ProviderProfile.photo_url,
            ProviderProfile.title, ProviderProfile.phone, ProviderProfile.email,
            raiseload=True,
        ),
    )
)  # fmt: skip


def list_appointments(
    session: Session,
    scope: AppointmentScope,
    filters: AppointmentFilters,
    page: int,
    limit: int,
) -> tuple[list[AppointmentWithProvider], int]:
    """One page, earliest first (date, then the TIME column, so 09:00 precedes 10:00), and
    the total across pages."""
    conditions = _conditions(scope, filters)
    total = session.scalar(sa.select(sa.func.count(Appointment.id)).where(*conditions)) or 0
    rows = session.execute(
        _WITH_PROVIDER.where(*conditions)
        .order_by(Appointment.date, Appointment.start_time, Appointment.id)
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    return [AppointmentWithProvider(*row) for row in rows], total


def get_appointment(session: Session, appointment_id: str) -> AppointmentWithProvider | None:
    row = session.execute(_WITH_PROVIDER.where(Appointment.id == appointment_id)).first()
    return None if row is None else AppointmentWithProvider(*row)


def email_of(session: Session, user_id: str) -> str:
    """The address a user's messages and invitations go to."""
    return str(session.scalar(sa.select(User.email).where(User.id == user_id)))
