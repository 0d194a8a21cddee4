"""The S3 backend against a real S3-compatible HTTP server (moto's, started by the tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from adapters.storage import EncryptedStorage
from adapters.storage.s3 import S3Storage
from kernel.errors import TooLarge, Unavailable
from models import MedicalRecordAttachment
from portal.runtime import build_services
from portal.web.app import create_app
from tests.conftest import make_settings
from tests.support.records import (
    DICOM_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    TEXT_BYTES,
    committed,
    first_attachment,
    records_of,
    upload,
)
from tests.support.s3_server import CREDENTIALS, S3Server

MIB = 1024 * 1024


def _s3_settings(backend, endpoint_url: str, bucket: str, **overrides):  # type: ignore[no-untyped-def]
    return make_settings(
        backend.url,
        backend.storage_path,
        storage_type="s3",
        aws_endpoint_url=endpoint_url,
        aws_s3_bucket=bucket,
        **CREDENTIALS,
        **overrides,
    )


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.new_bucket(f"records-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def s3_client(backend, app, s3_server, bucket):  # type: ignore[no-untyped-def]
    """The API over the test database, storing files in the S3 server's bucket."""
    settings = _s3_settings(backend, s3_server.endpoint_url, bucket)
    current = build_services(settings)
    assert isinstance(current.storage, EncryptedStorage)
    yield create_app(settings, current).test_client()
    current.db.dispose()


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("lab.pdf", PDF_BYTES, "application/pdf"),
        ("scan.png", PNG_BYTES, "image/png"),
        ("notes.txt", TEXT_BYTES, "text/plain"),
        ("ct.dcm", DICOM_BYTES, "application/dicom"),
    ],
)
def test_upload_and_download_through_s3_byte_for_byte(
    s3_client,
    s3_server,
    bucket,
    auth,
    db_session,
    name,
    content,
    mime,
):
    record = records_of(db_session, "patient1@example.com")[0]
    created = upload(s3_client, auth("nurse1@example.com"), record.id, name, content, mime)
    assert created.status_code == 201, created.text
    download = s3_client.get(created.json()["url"], headers=auth("patient1@example.com"))
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["Content-Length"] == str(len(content))

    row = committed(db_session, MedicalRecordAttachment, created.json()["id"])
    stored = s3_server.client().get_object(Bucket=bucket, Key=row.storage_path)
    at_rest = stored["Body"].read()
    assert content not in at_rest and content[:16] not in at_rest
    assert stored["ServerSideEncryption"] == "AES256"


def test_a_ten_mib_upload_goes_through_a_multipart_upload(
    s3_client, s3_server, bucket, auth, db_session
):
    record = records_of(db_session, "patient2@example.com")[0]
    content = PDF_BYTES + bytes(range(256)) * (10 * MIB // 256 - len(PDF_BYTES) // 256 - 1)
    assert len(content) <= 10 * MIB
    created = upload(
        s3_client, auth("nurse1@example.com"), record.id, "big.pdf", content, "application/pdf"
    )
    assert created.status_code == 201, created.text
    download = s3_client.get(created.json()["url"], headers=auth("patient2@example.com"))
    assert download.content == content
    row = committed(db_session, MedicalRecordAttachment, created.json()["id"])
    head = s3_server.client().head_object(Bucket=bucket, Key=row.storage_path)
    assert head["ServerSideEncryption"] == "AES256"
    assert "-" in head["ETag"]  # a multipart object's ETag names its part count


def _raw_storage(s3_server: S3Server, bucket: str, part_size: int = 5 * MIB) -> S3Storage:
    return S3Storage(s3_server.client(), bucket, part_size=part_size)


def test_without_an_app_key_s3_still_requests_server_side_encryption(s3_server, bucket):
    storage = _raw_storage(s3_server, bucket)
    for size in (10, 7 * MIB):
        key = f"records/{uuid.uuid4().hex}"
        content = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        assert storage.save(key, [content[i : i + 65536] for i in range(0, size, 65536)]) == size
        assert b"".join(storage.open(key)) == content
        head = s3_server.client().head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256"
        storage.delete(key)
        listed = s3_server.client().list_objects_v2(Bucket=bucket)
        assert listed.get("KeyCount", 0) == 0


def test_a_write_that_fails_midway_leaves_no_object_and_no_parts(s3_server, bucket):
    storage = _raw_storage(s3_server, bucket)

    def chunks() -> Iterator[bytes]:
        for _ in range(7 * 16):  # 7 MiB: the first part is already uploaded
            yield bytes(64 * 1024)
        raise TooLarge()

    with pytest.raises(TooLarge):
        storage.save(f"records/{uuid.uuid4().hex}", chunks())
    client = s3_server.client()
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_missing_bucket_is_503(s3_server):
    storage = _raw_storage(s3_server, "no-such-bucket")
    with pytest.raises(Unavailable):
        storage.save("records/x", [b"data"])
    with pytest.raises(Unavailable):
        storage.open("records/x")


def test_unreachable_s3_is_503_for_upload_and_download_and_writes_no_row(
    backend, app, auth, db_session
):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    settings = _s3_settings(backend, "http://127.0.0.1:1", "records")
    current = build_services(settings)
    try:
        client = create_app(settings, current).test_client()
        record = records_of(db_session, "patient1@example.com")[0]
        before = db_session.scalar(sa.select(sa.func.count(MedicalRecordAttachment.id)))
        created = upload(
            client, auth("nurse1@example.com"), record.id, "a.pdf", PDF_BYTES, "application/pdf"
        )
        attachment = first_attachment(db_session, record.id)
        download = client.get(
            f"/api/medical-records/{record.id}/attachments/{attachment.id}/download",
            headers=auth("patient1@example.com"),
        )
    finally:
        current.db.dispose()
    for response in (created, download):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count(MedicalRecordAttachment.id))) == before
