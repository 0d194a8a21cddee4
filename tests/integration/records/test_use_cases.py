"""Who reads which medical records, through the records use cases on a database session."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa

from kernel.errors import NotAllowed
from models.records import queries, use_cases
from models.records.queries import RecordFilter
from models.records.tables import MedicalRecordAttachment
from portal.runtime import Services
from security.identity import Identity
from security.policy.records import record_access
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


def _files_added(session, record, names_and_times):  # type: ignore[no-untyped-def]
    for name, created_at in names_and_times:
        session.add(
            MedicalRecordAttachment(
                record_id=record.id, file_name=name, file_type="application/pdf",
                file_size=len(name), storage_path=f"records/{name}", created_at=created_at,
            )
        )  # fmt: skip
    session.flush()


def test_each_listed_record_carries_its_own_files_oldest_first(services: Services):
    with services.db.new_session() as session:
        patient = a_patient(session)
        older = a_record(session, patient, title="Older", date=date(2026, 11, 1))
        newer = a_record(session, patient, title="Newer", date=date(2026, 11, 2))
        a_record(session, patient, title="No files", date=date(2026, 11, 3))
        first, second = datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 11, 1, 10, tzinfo=UTC)
        _files_added(session, older, [("b-second.pdf", second), ("a-first.pdf", first)])
        # the same instant: ordered by id
        _files_added(session, newer, [('Résumé "x".pdf', first), ("ünïcode 😀.pdf", first)])
        session.commit()
        expected = {
            record_id: [(f.id, f.file_name) for f in files]
            for record_id, files in queries.attachments_of(session, [older.id, newer.id]).items()
        }
    rows, total = use_cases.list_records(services.db, identity_of(patient), RecordFilter(), 1, 20)
    listed = {
        row.record.title: [(a.id, a.file_name) for a in row.attachments] for row in rows
    }  # fmt: skip
    assert total == 3 and [row.record.title for row in rows] == ["No files", "Newer", "Older"]
    assert listed["Older"] == expected[older.id]
    assert [name for _, name in listed["Older"]] == ["a-first.pdf", "b-second.pdf"]
    assert listed["Newer"] == expected[newer.id] and len(listed["Newer"]) == 2
    assert listed["No files"] == []
    assert all(a.record_id == row.record.id for row in rows for a in row.attachments)


def test_files_the_servers_aggregate_limit_cut_short_are_read_plainly(services: Services):
    if services.db.engine.dialect.name != "mysql":
        pytest.skip("MariaDB cuts JSON_ARRAYAGG at group_concat_max_len; SQLite does not")
    with services.db.new_session() as session:
        patient = a_patient(session)
        record = a_record(session, patient, title="Many files")
        at = datetime(2026, 11, 1, 9, tzinfo=UTC)
        _files_added(session, record, [(f"file-{n}.pdf", at) for n in range(5)])
        session.commit()
        expected = [f.id for f in queries.attachments_of(session, [record.id])[record.id]]
        session.execute(sa.text("SET SESSION group_concat_max_len = 64"))
        try:
            rows, _ = queries.list_records(
                session, record_access(identity_of(patient)), RecordFilter(), 1, 20
            )
        finally:  # the connection goes back to the pool
            session.execute(sa.text("SET SESSION group_concat_max_len = DEFAULT"))
            session.rollback()
    assert [a.id for a in rows[0].attachments] == expected
