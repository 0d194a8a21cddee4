"""Statements of the lifecycle: a status change written only if the status is still the one the
change was judged from, and the patient a booking on someone's behalf names."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.accounts.tables import User
from models.appointments.tables import Appointment
from security.identity import PATIENT


def change_status(session: Session, appointment_id: str, seen: str, values: dict[str, Any]) -> bool:
    """Apply `values` to the appointment if its status is still `seen`; False when another
    change got there first. On MariaDB the UPDATE waits for a concurrent change's row lock and
    then re-reads the row, so of two changes from one status exactly one matches."""
    result = session.execute(
        sa.update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status == seen)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def is_active_patient(session: Session, user_id: str) -> bool:
    found = session.scalar(
        sa.select(User.id).where(User.id == user_id, User.role == PATIENT, User.is_active.is_(True))
    )
    return found is not None
