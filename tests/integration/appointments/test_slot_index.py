"""The database itself refuses a second live booking of one slot (the backstop behind the
provider lock), on SQLite and MariaDB, and a cancelled booking does not count."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from models import Appointment
from models.appointments.errors import SlotTaken
from models.appointments.use_cases.appointments import insert_slot
from portal.web.errors import status_of


def _copy_of(row: Appointment) -> Appointment:
    """A new live booking of `row`'s slot, every column set (as booking writes one)."""
    written = (c.key for c in Appointment.__table__.columns if c.computed is None)
    copy = Appointment(**{key: getattr(row, key) for key in written})
    copy.id, copy.status, copy.reason = str(uuid.uuid4()), "scheduled", "A second booking"
    return copy


def _a_live_appointment(db_session) -> Appointment:
    row = db_session.scalars(
        sa.select(Appointment).where(Appointment.status == "scheduled").order_by(Appointment.id)
    ).first()
    assert row is not None
    return row


def test_a_second_live_row_on_one_slot_is_a_conflict(services, db_session):
    live = _a_live_appointment(db_session)

    def double_book(session):
        insert_slot(session, _copy_of(live))

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
        insert_slot(session, copy)
        return copy.id

    new_id = services.db.run(rebook)
    db_session.rollback()
    assert db_session.get(Appointment, new_id).status == "scheduled"
