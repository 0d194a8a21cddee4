"""The database itself refuses a second live booking of one slot (the backstop behind the
provider lock), on SQLite and MariaDB, and a cancelled booking does not count."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Appointment
from models.appointments.errors import SlotTaken
from models.appointments.use_cases.appointments import flush_slot
from portal.web.errors import status_of


def _copy_of(row: Appointment) -> Appointment:
    return Appointment(
        patient_id=row.patient_id,
        provider_id=row.provider_id,
        date=row.date,
        start_time=row.start_time,
        type=row.type,
        status="scheduled",
        reason="A second booking of a taken slot",
        duration=row.duration,
    )


def _a_live_appointment(db_session) -> Appointment:
    row = db_session.scalars(
        sa.select(Appointment).where(Appointment.status == "scheduled").order_by(Appointment.id)
    ).first()
    assert row is not None
    return row


def test_a_second_live_row_on_one_slot_is_a_conflict(services, db_session):
    live = _a_live_appointment(db_session)

    def double_book(session):
        session.add(_copy_of(live))
        flush_slot(session)

    with pytest.raises(SlotTaken) as raised:
        services.db.run(double_book)
    assert status_of(raised.value) == 409


def test_a_cancelled_row_leaves_its_slot_free(services, db_session):
    live = _a_live_appointment(db_session)
    services.db.run(
        lambda session: session.execute(
            sa.update(Appointment).where(Appointment.id == live.id).values(status="cancelled")
        )
    )

    def rebook(session):
        copy = _copy_of(live)
        session.add(copy)
        flush_slot(session)
        return copy.id

    new_id = services.db.run(rebook)
    db_session.rollback()
    assert db_session.get(Appointment, new_id).status == "scheduled"
