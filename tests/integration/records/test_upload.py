"""POST /api/medical-records/{recordId}/attachments: who may, what is accepted, what is stored."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import MedicalRecord, MedicalRecordAttachment
from portal.runtime import build_services
from portal.web.app import create_app
from tests.conftest import make_settings
from tests.support.records import (
    DICOM_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    TEXT_BYTES,
    committed,
    doctor_view,
    records_of,
    unrelated_doctor,
    upload,
    user_id,
)


def _attachment_count(db_session) -> int:  # type: ignore[no-untyped-def]
    db_session.rollback()
    return db_session.scalar(sa.select(sa.func.count(MedicalRecordAttachment.id)))


def _stored_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("lab.pdf", PDF_BYTES, "application/pdf"),
        ("scan.png", PNG_BYTES, "image/png"),
        ("photo.jpeg", JPEG_BYTES, "image/jpeg"),
        ("notes.txt", TEXT_BYTES, "text/plain"),
        ("ct.dcm", DICOM_BYTES, "application/dicom"),
    ],
)
def test_each_allowed_type_round_trips_byte_for_byte(
    client, auth, db_session, backend, name, content, mime
):
    record = records_of(db_session, "patient1@example.com")[3]
    created = upload(client, auth("nurse1@example.com"), record.id, name, content, mime)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["fileName"] == name and body["fileType"] == mime
    assert body["fileSize"] == len(content)
    assert body["url"] == f"/api/medical-records/{record.id}/attachments/{body['id']}/download"

    download = client.get(body["url"], headers=auth("patient1@example.com"))
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["Content-Type"] == mime

    row = committed(db_session, MedicalRecordAttachment, body["id"])
    assert row.record_id == record.id and row.file_name == name
    assert name not in row.storage_path  # generated key, never the client's name
    at_rest = (Path(backend.storage_path) / row.storage_path).read_bytes()
    assert content not in at_rest and content[:16] not in at_rest
    assert len(at_rest) > len(content)


def test_upload_lists_the_file_and_makes_the_record_new_again(client, auth, db_session, services):
    record = records_of(db_session, "patient2@example.com")[5]
    services.db.run(
        lambda s: s.execute(
            sa.update(MedicalRecord).where(MedicalRecord.id == record.id).values(is_new=False)
        )
    )
    created = upload(
        client, auth("nurse1@example.com"), record.id, "a.pdf", PDF_BYTES, "application/pdf"
    )
    assert created.status_code == 201
    data = client.get("/api/medical-records", headers=auth("patient2@example.com")).json()["data"]
    listed = next(r for r in data if r["id"] == record.id)
    assert listed["isNew"] is True
    assert created.json() in listed["attachments"]


def test_a_path_in_the_client_file_name_goes_nowhere(client, auth, db_session, backend):
    record = records_of(db_session, "patient1@example.com")[0]
    created = upload(
        client,
        auth("nurse1@example.com"),
        record.id,
        "../../../etc/passwd.txt",
        TEXT_BYTES,
        "text/plain",
    )
    assert created.status_code == 201
    assert created.json()["fileName"] == "passwd.txt"
    row = committed(db_session, MedicalRecordAttachment, created.json()["id"])
    stored = (Path(backend.storage_path) / row.storage_path).resolve()
    assert stored.is_relative_to(Path(backend.storage_path).resolve())
    assert ".." not in row.storage_path


def test_doctor_uploads_to_their_patients_records_only(client, auth, db_session):
    view = doctor_view(db_session, user_id(db_session, "doctor1@example.com"))
    own = next(iter(view.of_patients))
    hidden = db_session.scalar(sa.select(MedicalRecord.id).where(MedicalRecord.id.not_in(view.all)))
    headers = auth("doctor1@example.com")
    assert upload(client, headers, own, "a.pdf", PDF_BYTES, "application/pdf").status_code == 201
    refused = upload(client, headers, hidden, "a.pdf", PDF_BYTES, "application/pdf")
    assert refused.status_code == 403
    stranger = unrelated_doctor(db_session)
    assert (
        upload(client, auth(stranger.email), own, "a.pdf", PDF_BYTES, "application/pdf").status_code
        == 403
    )


@pytest.mark.parametrize("email", ["patient1@example.com", "admin@example.com"])
def test_patients_and_admins_cannot_upload(client, auth, db_session, email):
    record = records_of(db_session, "patient1@example.com")[0]
    before = _attachment_count(db_session)
    response = upload(client, auth(email), record.id, "a.pdf", PDF_BYTES, "application/pdf")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AUTHORIZATION_ERROR"
    assert _attachment_count(db_session) == before


def test_unknown_record_is_404_and_no_token_401(client, auth):
    url_id = str(uuid.uuid4())
    response = upload(
        client, auth("nurse1@example.com"), url_id, "a.pdf", PDF_BYTES, "application/pdf"
    )
    assert response.status_code == 404
    assert upload(client, {}, url_id, "a.pdf", PDF_BYTES, "application/pdf").status_code == 401


def test_empty_missing_and_extra_fields_are_400(client, auth, db_session):
    record = records_of(db_session, "patient1@example.com")[0]
    url = f"/api/medical-records/{record.id}/attachments"
    headers = auth("nurse1@example.com")
    empty = upload(client, headers, record.id, "a.txt", b"", "text/plain")
    assert empty.status_code == 400
    assert empty.json()["error"]["details"] == [{"field": "file", "message": "must not be empty"}]
    missing = client.post(
        url, headers=headers, data={"note": "x"}, files={"other": ("a.txt", b"x")}
    )
    assert missing.status_code == 400
    fields = {d["field"] for d in missing.json()["error"]["details"]}
    assert fields == {"file", "note", "other"}
    no_body = client.post(
        url, headers={**headers, "Content-Type": "multipart/form-data; boundary=x"}
    )
    assert no_body.status_code == 400
    assert _attachment_count(db_session) == 55


def test_not_multipart_is_415(client, auth, db_session):
    record = records_of(db_session, "patient1@example.com")[0]
    response = client.post(
        f"/api/medical-records/{record.id}/attachments",
        headers={**auth("nurse1@example.com"), "Content-Type": "application/pdf"},
        content=PDF_BYTES,
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("photo.gif", b"GIF89a" + bytes(100), "image/gif"),  # not an allowed type
        ("archive.zip", b"PK\x03\x04" + bytes(100), "application/zip"),
        ("run.exe", b"MZ\x90\x00" + bytes(100), "application/octet-stream"),  # undeclared, binary
        ("scan.png", PDF_BYTES, "image/png"),  # content PDF, declared PNG
        ("scan.pdf", PNG_BYTES, "application/pdf"),  # content PNG, declared PDF
        ("report.pdf", PNG_BYTES, "application/octet-stream"),  # content PNG, named .pdf
        ("notes.txt", b"MZ\x00\x01\x02binary", "text/plain"),  # declared text, binary content
    ],
)
def test_disallowed_or_mismatched_content_is_415(
    client, auth, db_session, backend, name, content, mime
):
    record = records_of(db_session, "patient1@example.com")[0]
    files_before = _stored_files(Path(backend.storage_path))
    response = upload(client, auth("nurse1@example.com"), record.id, name, content, mime)
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert _attachment_count(db_session) == 55
    assert _stored_files(Path(backend.storage_path)) == files_before


def test_undeclared_type_is_taken_from_the_content(client, auth, db_session):
    record = records_of(db_session, "patient1@example.com")[0]
    response = upload(
        client, auth("nurse1@example.com"), record.id, "blob", PNG_BYTES, "application/octet-stream"
    )
    assert response.status_code == 201
    assert response.json()["fileType"] == "image/png"


@pytest.fixture
def small_limit_client(backend, app):  # type: ignore[no-untyped-def]
    """An app over the same database with MAX_UPLOAD_BYTES = 4096."""
    settings = make_settings(backend.url, backend.storage_path, max_upload_bytes=4096)
    current = build_services(settings)
    yield create_app(settings, current).test_client()
    current.db.dispose()


def test_a_file_over_the_limit_is_413_and_nothing_is_stored(
    small_limit_client, auth, db_session, backend
):
    record = records_of(db_session, "patient1@example.com")[0]
    headers = auth("nurse1@example.com")
    files_before = _stored_files(Path(backend.storage_path))
    at_limit = PDF_BYTES[:9] + bytes(4096 - 9)
    over = at_limit + b"x"
    assert (
        upload(
            small_limit_client, headers, record.id, "a.pdf", at_limit, "application/pdf"
        ).status_code
        == 201
    )
    response = upload(small_limit_client, headers, record.id, "b.pdf", over, "application/pdf")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert _attachment_count(db_session) == 56
    assert len(_stored_files(Path(backend.storage_path)) - files_before) == 1


def test_a_body_far_over_the_limit_is_refused_from_its_length(small_limit_client, auth, db_session):
    record = records_of(db_session, "patient1@example.com")[0]
    big = PDF_BYTES + bytes(200_000)
    response = upload(
        small_limit_client, auth("nurse1@example.com"), record.id, "a.pdf", big, "application/pdf"
    )
    assert response.status_code == 413
    assert _attachment_count(db_session) == 55


def test_a_chunked_body_over_the_limit_is_cut_off_while_streaming(
    small_limit_client, auth, db_session
):
    record = records_of(db_session, "patient1@example.com")[0]
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()

    def body():  # type: ignore[no-untyped-def]
        yield head + b"%PDF-1.4\n"
        for _ in range(200):  # 200 x 64 KiB: far more than the limit, no Content-Length
            yield bytes(64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = small_limit_client.post(
        f"/api/medical-records/{record.id}/attachments",
        headers={
            **auth("nurse1@example.com"),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        content=body(),
    )
    assert response.status_code == 413
    assert _attachment_count(db_session) == 55


def test_storage_failure_is_503_and_leaves_no_row(backend, app, auth, db_session, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the storage root should be")
    settings = make_settings(backend.url, blocked)
    current = build_services(settings)
    try:
        client = create_app(settings, current).test_client()
        record = records_of(db_session, "patient1@example.com")[0]
        response = upload(
            client, auth("nurse1@example.com"), record.id, "a.pdf", PDF_BYTES, "application/pdf"
        )
    finally:
        current.db.dispose()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert _attachment_count(db_session) == 55
