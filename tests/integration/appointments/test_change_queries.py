"""`for_change` and `locked_for_change`: an appointment's row read packed comes back with every
written column as the ORM reads it (PHI decrypted, timestamps aware), and its provider's name."""

from __future__ import annotations

from datetime import UTC, datetime, time

from models.appointments.queries import appointments as appointment_queries
from models.appointments.tables import Appointment
from portal.runtime import Services
from tests.support.appointments import NEXT_WEDNESDAY
from tests.support.factories import a_doctor, a_patient, an_appointment

WRITTEN = [column.key for column in Appointment.__table__.columns if column.computed is None]


def test_a_change_reads_every_column_as_the_orm_does(services: Services):
    with services.db.new_session() as session:
        doctor = a_doctor(session, hours={"wednesday": [(time(9), time(10))]})
        patient = a_patient(session)
        moment = datetime(2026, 12, 1, 14, 5, 6, 789000, tzinfo=UTC)
        appointment = an_appointment(
            session,
            patient,
            doctor,
            NEXT_WEDNESDAY,
            time(9, 30),
            status="cancelled",
            notes='Notes: fasting, ünïcode and "quotes"',
            is_virtual=True,
            virtual_meeting_url="https://meet/abc",
            location="9 Elm St, Boston, MA 02114",
            check_in_time=moment,
            check_out_time=moment,
            cancellation_reason="Plans changed",
            reschedule_reason="Work conflict",
            cancelled_at=moment,
            time_zone="America/Los_Angeles",
            calendar_sequence=3,
        )
        session.commit()
        stored = {key: getattr(session.get(Appointment, appointment.id), key) for key in WRITTEN}
        expected_name = (doctor.first_name, doctor.last_name)

    with services.db.new_session() as session, session.begin():
        found = appointment_queries.for_change(session, stored["id"])
        locked = appointment_queries.locked_for_change(session, stored["id"])
        assert found is not None and locked is not None
        assert (found.provider_first_name, found.provider_last_name) == expected_name
        for read in (found.appointment, locked):
            assert {key: getattr(read, key) for key in WRITTEN} == stored
            assert read.cancelled_at is not None and read.cancelled_at.tzinfo is not None
        assert appointment_queries.for_change(session, "no-such-appointment") is None
        assert appointment_queries.locked_for_change(session, "no-such-appointment") is None
