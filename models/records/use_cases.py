"""What the API does with medical records: list them, open a file for download, store an upload.

Files stream: a download hands back an iterator over the stored bytes, an upload is read from
the request in chunks, checked by content, counted against the size limit and written through
the storage interface as it goes. A failure at any step leaves neither a file nor a row behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from adapters.storage import CHUNK_SIZE, Storage, new_storage_key
from kernel.database import Database, reads
from kernel.errors import InvalidInput
from models.base import new_id
from models.records import queries
from models.records.errors import (
    AttachmentNotFound,
    FileTooLarge,
    FileTypeNotAllowed,
    RecordNotFound,
)
from models.records.queries import RecordFilter, RecordRow
from models.records.rules import (
    SNIFF_BYTES,
    FileTypeRefused,
    check_upload_type,
    display_file_name,
)
from models.records.tables import MedicalRecord, MedicalRecordAttachment
from security.identity import PATIENT, Identity
from security.policy.records import (
    record_access,
    require_attachment_uploader,
    require_record_visible,
)


class UploadedFile(Protocol):
    """What the upload needs from the multipart part (werkzeug's FileStorage fits)."""

    stream: BinaryIO
    filename: str | None
    content_type: str | None


@dataclass(frozen=True)
class Download:
    attachment: MedicalRecordAttachment
    chunks: Iterator[bytes]


@reads
def list_records(
    session: Session, identity: Identity, where: RecordFilter, page: int, limit: int
) -> tuple[list[RecordRow], int]:
    """One page of the records the caller may read, newest first, and the total."""
    return queries.list_records(
        session, queries.visible(record_access(identity)), where, page, limit
    )


def _readable_record(session: Session, identity: Identity, record_id: str) -> MedicalRecord:
    record = session.get(MedicalRecord, record_id)
    if record is None:
        raise RecordNotFound()
    require_record_visible(queries.is_visible(session, record_access(identity), record.id))
    return record


@reads
def _readable_attachment(
    session: Session, identity: Identity, record_id: str, attachment_id: str
) -> tuple[MedicalRecord, MedicalRecordAttachment]:
    record = _readable_record(session, identity, record_id)
    attachment = queries.find_attachment(session, record.id, attachment_id)
    if attachment is None:
        raise AttachmentNotFound()
    return record, attachment


def open_download(
    db: Database, storage: Storage, identity: Identity, record_id: str, attachment_id: str
) -> Download:
    """The attachment and its bytes; a patient opening their file marks the record seen."""
    record, attachment = _readable_attachment(db, identity, record_id, attachment_id)
    chunks = storage.open(attachment.storage_path)  # a storage failure is a 503 here, not later
    if identity.has_role(PATIENT) and record.is_new:
        db.run(lambda write: mark_seen(write, record.id))
    return Download(attachment, chunks)


def mark_seen(session: Session, record_id: str) -> None:
    """Only the patient's reading changes `is_new`; `updated_at` stays the content's date."""
    session.execute(
        sa.update(MedicalRecord)
        .where(MedicalRecord.id == record_id, MedicalRecord.is_new.is_(True))
        .values(is_new=False, updated_at=MedicalRecord.updated_at)
    )


class _CountedUpload:
    """The upload's chunks, counted (413 past the limit) and hashed while they stream."""

    def __init__(self, head: bytes, stream: BinaryIO, max_bytes: int) -> None:
        self.head, self.stream, self.max_bytes = head, stream, max_bytes
        self.size = 0
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        chunk = self.head
        while chunk:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise FileTooLarge(self.max_bytes)
            self.sha256.update(chunk)
            yield chunk
            chunk = self.stream.read(CHUNK_SIZE)


def _read_head(stream: BinaryIO) -> bytes:
    head = bytearray()
    while len(head) < SNIFF_BYTES and (chunk := stream.read(SNIFF_BYTES - len(head))):
        head += chunk
    return bytes(head)


def store_upload(
    db: Database,
    storage: Storage,
    identity: Identity,
    record_id: str,
    upload: UploadedFile,
    max_bytes: int,
) -> MedicalRecordAttachment:
    """Check, store and register one uploaded file (doctors of the patient, and nurses)."""
    require_attachment_uploader(identity)
    record = db.read(lambda session: _readable_record(session, identity, record_id))
    head = _read_head(upload.stream)
    if not head:
        raise InvalidInput.field("file", "must not be empty")
    file_name = display_file_name(upload.filename)
    try:
        file_type = check_upload_type(head, len(head) < SNIFF_BYTES, upload.content_type, file_name)
    except FileTypeRefused as exc:
        raise FileTypeNotAllowed(str(exc)) from None

    key = new_storage_key("records")
    counted = _CountedUpload(head, upload.stream, max_bytes)
    storage.save(key, counted)
    try:
        return db.run(
            lambda session: _add_attachment(session, record.id, file_name, file_type, counted, key)
        )
    except BaseException:
        storage.delete(key)  # the row did not commit: the file must not outlive it
        raise


def _add_attachment(
    session: Session,
    record_id: str,
    file_name: str,
    file_type: str,
    counted: _CountedUpload,
    key: str,
) -> MedicalRecordAttachment:
    record = session.get(MedicalRecord, record_id, with_for_update=True)
    if record is None:
        raise RecordNotFound()
    attachment = MedicalRecordAttachment(
        id=new_id(),
        record_id=record_id,
        file_name=file_name,
        file_type=file_type,
        file_size=counted.size,
        storage_path=key,
        sha256=counted.sha256.hexdigest(),
    )
    session.add(attachment)
    # New content: the patient has not seen this file yet.
    record.is_new = True
    session.flush()
    return attachment
