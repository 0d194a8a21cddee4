"""Free-text PHI is sealed in the database (the raw rows hold no plain text), reads through
the models decrypt transparently, and `portal keys rotate` moves every value to a new key."""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa

from models.appointments.tables import Appointment
from models.consents.tables import PatientConsent
from models.records.tables import MedicalRecord
from portal.ops.demo.data import APPOINTMENT_REASONS, RECORDS
from portal.ops.keys import encrypted_columns, rotate
from portal.runtime import Services
from security import phi
from tests.support.audit import last_entry

NEW_KEY = base64.b64encode(b"n" * 32).decode()
PHI_COLUMNS = {
    "appointments": ["reason", "notes", "cancellation_reason", "reschedule_reason"],
    "medical_records": ["description"],
    # what a record said before an amendment, and why it was amended
    "medical_record_versions": ["description", "amendment_reason"],
    "patient_consents": ["details"],
    "notification_outbox": ["payload"],  # what a message says: the visit's date, place, provider
    "waitlist_entries": ["reason"],  # the reason of the visit an accepted offer books
}


def _raw_rows(services: Services, table: str) -> list[dict[str, Any]]:
    """Rows exactly as stored, read with plain SQL (no model, no type decorator)."""
    with services.db.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.exec_driver_sql(f"SELECT * FROM {table}")]


def _stored(services: Services) -> list[str]:
    return [
        row[column]
        for table, columns in PHI_COLUMNS.items()
        for row in _raw_rows(services, table)
        for column in columns
        if row[column] is not None
    ]


def test_the_encrypted_columns_are_exactly_the_free_text_phi():
    assert sorted(f"{t.name}.{c.name}" for t, c in encrypted_columns()) == sorted(
        f"{table}.{column}" for table, columns in PHI_COLUMNS.items() for column in columns
    )


def test_raw_rows_hold_no_plain_text(client, services: Services, auth):
    client.post(
        "/api/consents",
        json={"type": "research", "details": "Diabetes registry study, form R-7"},
        headers=auth("patient1@example.com"),
    )
    everything = " ".join(
        str(value)
        for table in PHI_COLUMNS
        for row in _raw_rows(services, table)
        for value in row.values()
    )
    for text in [*APPOINTMENT_REASONS, *(description for _, _, description, _ in RECORDS)]:
        assert text not in everything
    assert "Diabetes registry" not in everything
    assert "Please bring a list of current medications" not in everything
    stored = _stored(services)
    assert len(stored) > 80
    assert all(value.startswith("v1:dev:") for value in stored)


def test_models_read_plain_text(services: Services, auth):
    patient = auth.user("patient1@example.com")
    with services.db.new_session() as session:
        reasons = session.scalars(
            sa.select(Appointment.reason).where(Appointment.patient_id == patient.id)
        ).all()
        descriptions = set(
            session.scalars(
                sa.select(MedicalRecord.description).where(MedicalRecord.patient_id == patient.id)
            )
        )
    assert reasons and set(reasons) <= set(APPOINTMENT_REASONS)
    assert descriptions == {description for _, _, description, _ in RECORDS}


def test_rotation_reseals_everything_under_the_new_key(services: Services, monkeypatch):
    dev_key = phi.Keyring.development().keys["dev"]
    rotated = phi.Keyring({"k2": base64.b64decode(NEW_KEY), "dev": dev_key}, "k2")
    monkeypatch.setattr(phi, "_keyring", rotated)
    with services.db.new_session() as session:
        before = {
            a.id: (a.reason, a.notes, a.updated_at) for a in session.scalars(sa.select(Appointment))
        }

    counts = rotate(services.db, rotated, batch=7)  # several batches per column

    assert counts["appointments.reason"] == len(before)
    assert counts["medical_records.description"] > 0
    assert all(value.startswith("v1:k2:") for value in _stored(services))
    # The old key can go now: everything reads with the new key alone, unchanged.
    monkeypatch.setattr(phi, "_keyring", phi.Keyring.parse(f"k2:{NEW_KEY}"))
    with services.db.new_session() as session:
        after = {
            a.id: (a.reason, a.notes, a.updated_at) for a in session.scalars(sa.select(Appointment))
        }
        assert session.scalar(sa.select(sa.func.count()).select_from(PatientConsent)) == 0
    assert after == before
    entry = last_entry(services, action="ROTATE_PHI_KEYS")
    assert entry.details["currentKeyId"] == "k2"
    assert entry.details["appointments.reason"] == len(before)
    # A second run has nothing left to do.
    assert set(rotate(services.db, phi.keyring()).values()) == {0}
