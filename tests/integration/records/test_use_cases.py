"""Who reads which medical records, through the records use cases on a database session."""

from __future__ import annotations

from datetime import date, time

import pytest

from kernel.errors import NotAllowed
from models.records import use_cases
from models.records.queries import RecordFilter
from portal.runtime import Services
from security.identity import Identity
from tests.support.factories import a_doctor, a_patient, a_record, a_user, an_appointment


def identity_of(user) -> Identity:  # type: ignore[no-untyped-def]
    return Identity(user_id=user.id, email=user.email, role=user.role)


def titles(services: Services, user) -> set[str]:  # type: ignore[no-untyped-def]
    rows, _ = use_cases.list_records(services.db, identity_of(user), RecordFilter(), 1, 100)
    return {row.record.title for row in rows}


def test_a_doctor_reads_what_they_wrote_and_their_patients_records_only(services: Services):
    with services.db.new_session() as session:
        doctor, colleague = a_doctor(session), a_doctor(session)
        in_care, stranger = a_patient(session), a_patient(session)
        an_appointment(session, in_care, doctor, date(2026, 12, 2), time(9))
        a_record(session, in_care, doctor=colleague, title="Colleague's note on my patient")
        a_record(session, stranger, doctor=doctor, title="My note on a stranger")
        hidden = a_record(session, stranger, doctor=colleague, title="Not mine at all")
        session.commit()
    assert titles(services, doctor) == {"Colleague's note on my patient", "My note on a stranger"}
    assert titles(services, in_care) == {"Colleague's note on my patient"}
    with pytest.raises(NotAllowed):
        use_cases.open_download(services.db, services.storage, identity_of(doctor), hidden.id, "x")


def test_a_cancelled_appointment_ends_the_care_relationship(services: Services):
    with services.db.new_session() as session:
        doctor, patient = a_doctor(session), a_patient(session)
        an_appointment(session, patient, doctor, date(2026, 12, 2), time(9), status="cancelled")
        a_record(session, patient, title="Only the patient's")
        nurse = a_user(session, "nurse")
        session.commit()
    assert titles(services, doctor) == set()
    assert "Only the patient's" in titles(services, nurse)
