"""Row factories: a test states the rows it needs (a patient, a doctor with these hours, an
appointment at this time) instead of leaning on the seeded demo accounts.

Plain builder functions over a session: each adds its rows, flushes so ids exist, and returns
the main row; the caller commits (or lets `Database.run` do it).
"""

from __future__ import annotations

import itertools
from datetime import date, time
from typing import Any

from sqlalchemy.orm import Session

from models import (
    Appointment,
    MedicalRecord,
    ProviderAvailability,
    ProviderLocation,
    ProviderProfile,
    User,
)

_numbers = itertools.count(1)
NOT_A_PASSWORD = "!no-login"  # not an argon2 hash: verification always fails
WEEKDAYS_9_TO_5 = {
    day: [(time(9), time(17))] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}


def _unique(prefix: str) -> str:
    return f"{prefix}{next(_numbers)}"


def a_user(session: Session, role: str = "patient", **fields: Any) -> User:
    name = _unique(role)
    values: dict[str, Any] = {
        "email": f"{name}@factory.example",
        "password_hash": NOT_A_PASSWORD,
        "role": role,
        "first_name": name.title(),
        "last_name": "Factory",
    }
    values.update(fields)
    user = User(**values)
    session.add(user)
    session.flush()
    return user


def a_patient(session: Session, **fields: Any) -> User:
    return a_user(session, "patient", **fields)


def a_doctor(
    session: Session,
    *,
    hours: dict[str, list[tuple[time, time]]] | None = None,
    accepting_new_patients: bool = True,
    specialty: str = "family_medicine",
    address: str = "1 Factory Way",
    time_zone: str | None = None,
    **fields: Any,
) -> User:
    """A doctor with a provider profile, a primary location (in `time_zone`, default the
    clinic's) and weekly `hours` there (default: 9 to 5 on weekdays)."""
    user = a_user(session, "doctor", **fields)
    profile = ProviderProfile(
        user_id=user.id, specialty=specialty, accepting_new_patients=accepting_new_patients
    )
    session.add(profile)
    session.flush()
    location = ProviderLocation(
        provider_id=profile.id,
        address=address,
        city="Boston",
        state="MA",
        zip_code="02114",
        is_primary=True,
        time_zone=time_zone,
    )
    session.add(location)
    session.flush()
    for weekday, windows in (WEEKDAYS_9_TO_5 if hours is None else hours).items():
        for start, end in windows:
            session.add(
                ProviderAvailability(
                    provider_id=profile.id,
                    day_of_week=weekday,
                    start_time=start,
                    end_time=end,
                    location_id=location.id,
                )
            )
    session.flush()
    return user


def an_appointment(
    session: Session,
    patient: User,
    doctor: User,
    day: date,
    start: time,
    *,
    status: str = "scheduled",
    **fields: Any,
) -> Appointment:
    values: dict[str, Any] = {
        "patient_id": patient.id,
        "provider_id": doctor.id,
        "date": day,
        "start_time": start,
        "type": "routine_checkup",
        "status": status,
        "reason": "A factory-made visit reason",
        "duration": 30,
    }
    values.update(fields)
    appointment = Appointment(**values)
    session.add(appointment)
    session.flush()
    return appointment


def a_record(
    session: Session, patient: User, *, doctor: User | None = None, **fields: Any
) -> MedicalRecord:
    values: dict[str, Any] = {
        "patient_id": patient.id,
        "provider_id": doctor.id if doctor else None,
        "type": "lab_result",
        "title": "Factory lab result",
        "date": date(2026, 11, 20),
        "description": "Within normal limits",
    }
    values.update(fields)
    record = MedicalRecord(**values)
    session.add(record)
    session.flush()
    return record
