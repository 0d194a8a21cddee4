"""The patient's access report: what the staff did with their data (reads, changes, refused
attempts), newest first and paginated; never their own requests, another patient's, or other
patients' data; patients only, and itself audited."""

from __future__ import annotations

from datetime import time

import pytest
import time_machine

from portal.runtime import Services
from tests.support.appointments import NEXT_WEDNESDAY, NOON
from tests.support.audit import last_entry
from tests.support.factories import a_doctor, a_patient, a_record, an_appointment

REPORT = "/api/auth/me/access-report"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture
def rows(services: Services) -> dict[str, str]:
    with services.db.new_session() as session:
        patient, other = a_patient(session), a_patient(session)
        doctor = a_doctor(session, first_name="Grace", last_name="Okafor")
        visit = an_appointment(session, patient, doctor, NEXT_WEDNESDAY, time(9))
        theirs = an_appointment(session, other, doctor, NEXT_WEDNESDAY, time(10))
        record = a_record(session, patient, doctor=doctor)
        found = {
            "patient": patient.email, "other": other.email, "doctor": doctor.email,
            "patient_id": patient.id, "visit": visit.id, "theirs": theirs.id, "record": record.id,
        }  # fmt: skip
        session.commit()
    return found


def test_the_report_lists_the_staff_s_accesses_newest_first(client, auth, rows):
    patient, doctor, other = auth(rows["patient"]), auth(rows["doctor"]), auth(rows["other"])
    visit, record = rows["visit"], rows["record"]
    assert client.get(f"/api/appointments/{visit}", headers=patient).status_code == 200  # own
    assert client.get(f"/api/appointments/{visit}", headers=other).status_code == 403  # a patient
    assert client.get(f"/api/appointments/{visit}", headers=doctor).status_code == 200
    assert client.get(f"/api/appointments/{rows['theirs']}", headers=doctor).status_code == 200
    nurse = auth("nurse1@example.com")
    upload = {"files": {"file": ("n.txt", b"plain text note", "text/plain")}}
    refused = client.post(f"/api/medical-records/{record}/attachments", headers=patient, **upload)
    assert refused.status_code == 403  # the patient's own attempt: not in the report
    assert client.get(f"/api/medical-records/{record}/versions", headers=nurse).status_code == 200
    admin = auth("admin@example.com")
    query = {"subjectId": rows["patient_id"]}
    assert client.get("/api/admin/audit-logs", headers=admin, params=query).status_code == 200
    denied = client.put(
        f"/api/appointments/{visit}/reschedule",
        json={"date": NEXT_WEDNESDAY.isoformat(), "time": "02:00 PM"},
        headers=auth("provider2@clinic.example"),
    )
    assert denied.status_code == 403

    response = client.get(REPORT, headers=patient, params={"limit": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pagination"]["total"] == 4
    assert response.headers["X-Total-Count"] == "4"
    assert [(e["action"], e["outcome"], e["actor"]["role"]) for e in body["data"]] == [
        ("RESCHEDULE_APPOINTMENT", "denied", "doctor"),
        ("READ_AUDIT_LOGS", "success", "admin"),
        ("READ_MEDICAL_RECORD_VERSIONS", "success", "nurse"),
    ]
    assert body["data"][0]["resourceId"] == visit
    assert body["data"][1]["actor"]["name"] == "Alex Morgan"
    [oldest] = client.get(REPORT, headers=patient, params={"limit": 3, "page": 2}).json()["data"]
    assert oldest == {
        "timestamp": "2026-11-25T17:00:00Z",
        "actor": {"role": "doctor", "name": "Grace Okafor"},
        "action": "READ_APPOINTMENT",
        "resource": "appointments",
        "resourceId": visit,
        "outcome": "success",
    }


def test_only_patients_have_a_report_and_every_read_of_it_is_audited(
    client, auth, services: Services, rows
):
    assert client.get(REPORT, headers=auth("nurse1@example.com")).status_code == 403
    assert last_entry(services, action="READ_ACCESS_REPORT").status == "denied"
    response = client.get(REPORT, headers=auth(rows["patient"]))
    assert response.status_code == 200 and response.json()["data"] == []
    entry = last_entry(services, action="READ_ACCESS_REPORT")
    assert (entry.status, entry.subject, entry.details) == (
        "success", rows["patient_id"], {"count": 0, "page": 1}
    )  # fmt: skip
    # the patient's reading of their own report is not a disclosure either
    assert client.get(REPORT, headers=auth(rows["patient"])).json()["pagination"]["total"] == 0
