"""Doctors write and amend medical records: POST /api/medical-records, POST .../amendments and
GET .../versions, by role, with the database state behind each answer."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from kernel.clock import utcnow
from models import MedicalRecord, User
from models.records.tables import MedicalRecordVersion
from portal.runtime import Services
from tests.support.audit import last_entry
from tests.support.factories import a_doctor, a_patient, a_record, a_user, an_appointment

URL = "/api/medical-records"


@pytest.fixture
def care(services: Services) -> dict[str, Any]:
    """A doctor with a patient in their care (one visit), a colleague, a stranger and a nurse."""
    with services.db.new_session() as session:
        doctor, colleague = a_doctor(session), a_doctor(session)
        patient, stranger = a_patient(session), a_patient(session)
        visit = an_appointment(session, patient, doctor, date(2025, 1, 15), time(9))
        nurse = a_user(session, "nurse")
        session.commit()
        return {
            "doctor": doctor.email,
            "doctor_id": doctor.id,
            "colleague": colleague.email,
            "patient": patient.email,
            "patient_id": patient.id,
            "stranger_id": stranger.id,
            "visit_id": visit.id,
            "nurse": nurse.email,
        }


def _new(care: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "patientId": care["patient_id"],
        "type": "visit_note",
        "title": "Follow-up visit",
        "date": "2025-01-15",
        "description": "Blood pressure improved on the current dose.",
        **fields,
    }


def _record(services: Services, record_id: str) -> MedicalRecord:
    with services.db.new_session() as session:
        found = session.get(MedicalRecord, record_id)
        assert found is not None
        session.expunge(found)
        return found


def _versions(services: Services, record_id: str) -> list[MedicalRecordVersion]:
    with services.db.new_session() as session:
        return list(
            session.scalars(
                sa.select(MedicalRecordVersion)
                .where(MedicalRecordVersion.record_id == record_id)
                .order_by(MedicalRecordVersion.version)
            )
        )


def _write(client, auth, care, **fields: Any):  # type: ignore[no-untyped-def]
    response = client.post(URL, headers=auth(care["doctor"]), json=_new(care, **fields))
    assert response.status_code == 201, response.text
    return response.json()


def test_a_doctor_writes_a_record_the_patient_then_sees_as_new(client, auth, services, care):
    response = client.post(
        URL, headers=auth(care["doctor"]), json=_new(care, appointmentId=care["visit_id"])
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"{URL}/{body['id']}/versions"
    assert response.headers["Cache-Control"] == "no-store"
    assert body["version"] == 1 and body["isNew"] is True and body["attachments"] == []
    assert body["providerId"] == care["doctor_id"] and body["patientId"] == care["patient_id"]
    stored = _record(services, body["id"])
    assert stored.appointment_id == care["visit_id"] and stored.version == 1
    assert stored.description == "Blood pressure improved on the current dose."

    seen = client.get(URL, headers=auth(care["patient"])).json()["data"]
    assert [(r["id"], r["isNew"], r["version"]) for r in seen] == [(body["id"], True, 1)]
    entry = last_entry(services, action="CREATE_MEDICAL_RECORD")
    assert entry.status == "success" and entry.resource_id == body["id"]


@pytest.mark.parametrize("role", ["patient", "nurse"])
def test_only_doctors_write_records(client, auth, services, care, role):
    response = client.post(URL, headers=auth(care[role]), json=_new(care))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AUTHORIZATION_ERROR"
    with services.db.new_session() as session:
        count = sa.select(sa.func.count()).where(MedicalRecord.patient_id == care["patient_id"])
        assert session.scalar(count) == 0
    assert last_entry(services, action="CREATE_MEDICAL_RECORD").status == "denied"


def test_a_doctor_cannot_write_for_a_patient_outside_their_care(client, auth, services, care):
    response = client.post(URL, headers=auth(care["colleague"]), json=_new(care))
    assert response.status_code == 403
    assert "in your care" in response.json()["error"]["message"]
    for outside in (care["stranger_id"], "00000000-0000-4000-8000-000000000000"):
        response = client.post(
            URL, headers=auth(care["doctor"]), json=_new(care, patientId=outside)
        )
        assert response.status_code == 403  # an unknown id looks the same: nothing to enumerate


def test_a_cancelled_visit_is_no_care_relationship(client, auth, services, care):
    with services.db.new_session() as session:
        session.execute(sa.text("UPDATE appointments SET status = 'cancelled'"))
        session.commit()
    response = client.post(URL, headers=auth(care["doctor"]), json=_new(care))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"appointmentId": "00000000-0000-4000-8000-000000000000"}, "appointmentId"),
        ({"type": "x_ray"}, "type"),
        ({"title": ""}, "title"),
        ({"date": "2025-02-30"}, "date"),
    ],
)
def test_bad_fields_are_named_and_nothing_is_written(client, auth, services, care, fields, field):
    response = client.post(URL, headers=auth(care["doctor"]), json=_new(care, **fields))
    assert response.status_code == 400, response.text
    details = response.json()["error"]["details"]
    assert field in {d["field"] for d in details}, details
    with services.db.new_session() as session:
        assert session.scalar(sa.select(sa.func.count(MedicalRecord.id))) == session.scalar(
            sa.select(sa.func.count(MedicalRecord.id)).where(
                MedicalRecord.patient_id != care["patient_id"]
            )
        )


def test_a_record_cannot_be_dated_in_the_future(client, auth, care):
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    response = client.post(URL, headers=auth(care["doctor"]), json=_new(care, date=tomorrow))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "date"


def test_another_patients_appointment_cannot_be_named(client, auth, services, care):
    with services.db.new_session() as session:
        doctor = session.get(User, care["doctor_id"])
        other = an_appointment(session, a_patient(session), doctor, date(2025, 1, 16), time(9))
        session.commit()
        other_id = other.id
    response = client.post(
        URL, headers=auth(care["doctor"]), json=_new(care, appointmentId=other_id)
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "appointmentId"


def test_an_amendment_keeps_the_version_it_replaces(client, auth, services, care):
    written = _write(client, auth, care)
    client.get(URL, headers=auth(care["patient"]))  # the patient has seen it
    response = client.post(
        f"{URL}/{written['id']}/amendments",
        headers=auth(care["doctor"]),
        json={
            "reason": "The dose was recorded wrongly",
            "description": "Blood pressure improved on 10 mg daily.",
            "title": "Follow-up visit",  # unchanged: not listed as amended
            "expectedVersion": 1,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 2 and body["isNew"] is True
    assert body["description"] == "Blood pressure improved on 10 mg daily."
    stored = _record(services, written["id"])
    assert stored.version == 2 and stored.description == body["description"]
    [kept] = _versions(services, written["id"])
    assert kept.version == 1 and kept.amended_by == care["doctor_id"]
    assert kept.description == "Blood pressure improved on the current dose."
    assert kept.amendment_reason == "The dose was recorded wrongly"
    entry = last_entry(services, action="AMEND_MEDICAL_RECORD")
    assert entry.status == "success" and entry.resource_id == written["id"]

    versions = client.get(f"{URL}/{written['id']}/versions", headers=auth(care["patient"]))
    assert versions.status_code == 200, versions.text
    shown = versions.json()
    assert shown["current"]["version"] == 2
    [previous] = shown["previous"]
    assert previous["version"] == 1
    assert previous["description"] == "Blood pressure improved on the current dose."
    assert previous["amendmentReason"] == "The dose was recorded wrongly"
    assert previous["amendedBy"]["id"] == care["doctor_id"]
    entry = last_entry(services, action="READ_MEDICAL_RECORD_VERSIONS")
    assert entry.status == "success" and entry.resource_id == written["id"]


def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(client, auth, services, care):
    written = _write(client, auth, care)
    amend = f"{URL}/{written['id']}/amendments"
    first = {"reason": "Corrected the title", "title": "Second visit", "expectedVersion": 1}
    assert client.post(amend, headers=auth(care["doctor"]), json=first).status_code == 200
    stale = {"reason": "Corrected the date", "date": "2025-01-14", "expectedVersion": 1}
    response = client.post(amend, headers=auth(care["doctor"]), json=stale)
    assert response.status_code == 409
    assert "version 2" in response.json()["error"]["message"]
    stored = _record(services, written["id"])
    assert (stored.version, stored.date, stored.title) == (2, date(2025, 1, 15), "Second visit")
    assert len(_versions(services, written["id"])) == 1


def test_an_amendment_that_changes_nothing_is_refused(client, auth, services, care):
    written = _write(client, auth, care)
    response = client.post(
        f"{URL}/{written['id']}/amendments",
        headers=auth(care["doctor"]),
        json={"reason": "Nothing really", "title": "Follow-up visit"},
    )
    assert response.status_code == 400
    assert _record(services, written["id"]).version == 1 and not _versions(services, written["id"])


@pytest.mark.parametrize("who", ["colleague", "nurse", "patient"])
def test_only_the_author_amends(client, auth, services, care, who):
    written = _write(client, auth, care)
    response = client.post(
        f"{URL}/{written['id']}/amendments",
        headers=auth(care[who]),
        json={"reason": "I think this is wrong", "title": "Changed"},
    )
    assert response.status_code == 403
    assert _record(services, written["id"]).title == "Follow-up visit"
    assert last_entry(services, action="AMEND_MEDICAL_RECORD").status == "denied"


def test_a_seeded_record_without_an_author_cannot_be_amended(client, auth, services, care):
    with services.db.new_session() as session:
        patient = session.get(User, care["patient_id"])
        orphan = a_record(session, patient, title="Imported")
        session.commit()
        orphan_id = orphan.id
    response = client.post(
        f"{URL}/{orphan_id}/amendments",
        headers=auth(care["doctor"]),
        json={"reason": "Fixing an import", "title": "Imported lab"},
    )
    assert response.status_code == 403


def test_unknown_records_are_not_found(client, auth):
    unknown = "00000000-0000-4000-8000-000000000000"
    response = client.post(
        f"{URL}/{unknown}/amendments",
        headers=auth("doctor1@example.com"),
        json={"reason": "Does not exist", "title": "x"},
    )
    assert response.status_code == 404
    assert (
        client.get(f"{URL}/{unknown}/versions", headers=auth("patient1@example.com")).status_code
        == 404
    )


def test_versions_are_visible_to_whoever_sees_the_record_only(client, auth, care):
    written = _write(client, auth, care)
    url = f"{URL}/{written['id']}/versions"
    assert client.get(url, headers=auth(care["nurse"])).status_code == 200
    assert client.get(url, headers=auth("patient1@example.com")).status_code == 403
    assert client.get(url, headers=auth(care["colleague"])).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "Only a reason given"},
        {"title": "No reason"},
        {"reason": "short", "title": "x"},
        {"reason": "A good reason", "title": "x", "patientId": "not amendable"},
    ],
)
def test_amendments_are_validated_by_the_spec(client, auth, care, body):
    written = _write(client, auth, care)
    response = client.post(
        f"{URL}/{written['id']}/amendments", headers=auth(care["doctor"]), json=body
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
