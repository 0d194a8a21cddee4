"""GET .../attachments/{attachmentId}/download: bytes, headers, who may, isNew, storage down."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from models import MedicalRecord
from tests.support.records import (
    PDF_BYTES,
    doctor_view,
    first_attachment,
    records_of,
    unrelated_doctor,
    upload,
    user_id,
)


def _url(record_id: str, attachment_id: str) -> str:
    return f"/api/medical-records/{record_id}/attachments/{attachment_id}/download"


def _is_new(db_session, record_id: str) -> bool:  # type: ignore[no-untyped-def]
    db_session.rollback()  # end the read transaction: see what the API committed since
    return db_session.get(MedicalRecord, record_id).is_new


def test_owner_downloads_the_seeded_file_with_safe_headers(client, auth, db_session):
    record = records_of(db_session, "patient1@example.com")[0]
    attachment = first_attachment(db_session, record.id)
    response = client.get(_url(record.id, attachment.id), headers=auth("patient1@example.com"))
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == attachment.sha256
    assert len(response.content) == attachment.file_size
    assert response.headers["Content-Type"] == attachment.file_type
    assert response.headers["Content-Length"] == str(attachment.file_size)
    assert (
        response.headers["Content-Disposition"] == f'attachment; filename="{attachment.file_name}"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.content[:5] in (b"%PDF-", b"\x89PNG\r")


def test_a_download_reads_the_record_and_its_file_in_one_statement(
    client, auth, db_session, services
):
    """Whose record, may the caller read it, and the file: one SELECT (the audit trail's own
    statements and the seen mark's write apart)."""
    record = records_of(db_session, "patient1@example.com")[0]
    attachment = first_attachment(db_session, record.id)
    headers = auth("patient1@example.com")
    client.get(_url(record.id, attachment.id), headers=headers)  # marks it seen once
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(services.db.engine, "before_cursor_execute", count)
    try:
        response = client.get(_url(record.id, attachment.id), headers=headers)
    finally:
        event.remove(services.db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == attachment.sha256
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len([s for s in reads if "audit_" not in s]) == 1


def test_another_patients_record_is_403(client, auth, db_session):
    record = next(r for r in records_of(db_session, "patient1@example.com") if r.is_new)
    attachment = first_attachment(db_session, record.id)
    response = client.get(_url(record.id, attachment.id), headers=auth("patient2@example.com"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AUTHORIZATION_ERROR"
    assert _is_new(db_session, record.id) is True


def test_unknown_record_unknown_attachment_and_mismatched_pair_are_404(client, auth, db_session):
    headers = auth("patient1@example.com")
    first, second = records_of(db_session, "patient1@example.com")[:2]
    attachment = first_attachment(db_session, first.id)
    other = first_attachment(db_session, second.id)
    cases = {
        "unknown record": _url(str(uuid.uuid4()), attachment.id),
        "unknown attachment": _url(first.id, str(uuid.uuid4())),
        "attachment of another record": _url(first.id, other.id),
    }
    for name, url in cases.items():
        response = client.get(url, headers=headers)
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "NOT_FOUND", name


def test_malformed_ids_are_400_and_no_token_is_401(client, auth, db_session):
    record = records_of(db_session, "patient1@example.com")[0]
    attachment = first_attachment(db_session, record.id)
    response = client.get(_url("not-a-uuid", attachment.id), headers=auth("patient1@example.com"))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "recordId"
    assert client.get(_url(record.id, attachment.id)).status_code == 401


@pytest.mark.parametrize("email", ["nurse1@example.com", "admin@example.com"])
def test_nurse_and_admin_download_any_file_without_marking_it_seen(client, auth, db_session, email):
    record = next(r for r in records_of(db_session, "patient3@example.com") if r.is_new)
    attachment = first_attachment(db_session, record.id)
    response = client.get(_url(record.id, attachment.id), headers=auth(email))
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == attachment.sha256
    assert _is_new(db_session, record.id) is True


def test_doctor_downloads_records_of_their_patients_but_not_others(client, auth, db_session):
    doctor = user_id(db_session, "doctor1@example.com")
    view = doctor_view(db_session, doctor)
    patient_record = next(iter(view.of_patients - view.authored))
    authored = next(iter(view.authored))
    hidden = db_session.scalar(sa.select(MedicalRecord.id).where(MedicalRecord.id.not_in(view.all)))
    headers = auth("doctor1@example.com")
    for record_id, status in ((patient_record, 200), (authored, 200), (hidden, 403)):
        attachment = first_attachment(db_session, record_id)
        assert client.get(_url(record_id, attachment.id), headers=headers).status_code == status


def test_doctor_without_any_relation_gets_403(client, auth, db_session):
    record = records_of(db_session, "patient5@example.com")[0]
    attachment = first_attachment(db_session, record.id)
    stranger = unrelated_doctor(db_session)
    assert (
        client.get(_url(record.id, attachment.id), headers=auth(stranger.email)).status_code == 403
    )


def test_a_patient_opening_a_file_marks_the_record_seen_in_the_list(client, auth, db_session):
    headers = auth("patient2@example.com")
    record = next(r for r in records_of(db_session, "patient2@example.com") if r.is_new)
    updated_at = record.updated_at
    attachment = first_attachment(db_session, record.id)

    def listed() -> dict:
        data = client.get("/api/medical-records", headers=headers).json()["data"]
        return next(r for r in data if r["id"] == record.id)

    assert listed()["isNew"] is True
    assert client.get(_url(record.id, attachment.id), headers=headers).status_code == 200
    assert listed()["isNew"] is False
    assert _is_new(db_session, record.id) is False
    assert db_session.get(MedicalRecord, record.id).updated_at == updated_at
    # Other records of the patient stay new.
    assert (
        sum(r["isNew"] for r in client.get("/api/medical-records", headers=headers).json()["data"])
        == 2
    )


def test_non_ascii_and_hostile_file_names_are_neutralised(client, auth, db_session):
    record = records_of(db_session, "patient1@example.com")[0]
    name = 'Résumé "final"\r\nX-Evil: 1\\..\\scan.pdf'
    created = upload(
        client, auth("nurse1@example.com"), record.id, name, PDF_BYTES, "application/pdf"
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["fileName"] == "scan.pdf"  # only the last path component is kept
    quoted = 'Ünïcode "quotes"; name.pdf'
    created = upload(
        client, auth("nurse1@example.com"), record.id, quoted, PDF_BYTES, "application/pdf"
    )
    response = client.get(created.json()["url"], headers=auth("patient1@example.com"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="_n_code _quotes__ name.pdf"; '
        "filename*=UTF-8''%C3%9Cn%C3%AFcode%20_quotes__%20name.pdf"
    )


def test_a_missing_stored_file_is_503_in_the_standard_format(client, auth, db_session, backend):
    record = next(r for r in records_of(db_session, "patient4@example.com") if r.is_new)
    attachment = first_attachment(db_session, record.id)
    stored = Path(backend.storage_path) / attachment.storage_path
    hidden = stored.with_name(stored.name + ".moved")
    stored.rename(hidden)
    try:
        response = client.get(_url(record.id, attachment.id), headers=auth("patient4@example.com"))
    finally:
        hidden.rename(stored)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert set(error) >= {"message", "timestamp", "path"}
    assert _is_new(db_session, record.id) is True  # a failed download is not "opened"


def test_a_tampered_stored_file_is_refused(client, auth, db_session, backend):
    record = records_of(db_session, "patient4@example.com")[1]
    attachment = first_attachment(db_session, record.id)
    stored = Path(backend.storage_path) / attachment.storage_path
    original = stored.read_bytes()
    tampered = bytearray(original)
    tampered[40] ^= 1
    stored.write_bytes(bytes(tampered))
    try:
        response = client.get(_url(record.id, attachment.id), headers=auth("patient4@example.com"))
    finally:
        stored.write_bytes(original)
    assert response.status_code == 503
