"""What the API does with medical records: list them, open a file for download, store an upload.

Files stream: a download hands back an iterator over the stored bytes, an upload is read from
the request in chunks, checked by content, counted against the size limit and written through
the storage interface as it goes. A failure at any step leaves neither a file nor a row behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from adapters.storage import CHUNK_SIZE, Storage, new_storage_key
from kernel.clock import Clock
from kernel.database import Database, reads, writes
from kernel.errors import InvalidInput
from models.accounts.tables import User
from models.appointments.queries.availability import in_care_of
from models.appointments.rules.slots import clinic_today
from models.appointments.tables import Appointment
from models.base import new_id
from models.records import queries
from models.records.errors import (
    AttachmentNotFound,
    FileTooLarge,
    FileTypeNotAllowed,
    PatientNotInCare,
    RecordChanged,
    RecordNotFound,
)
from models.records.queries import AttachmentOfRecord, RecordFilter, RecordRow, StoredAttachment
from models.records.rules import (
    AMENDABLE,
    SNIFF_BYTES,
    FileTypeRefused,
    amended_fields,
    check_upload_type,
    display_file_name,
    record_date_refusal,
)
from models.records.tables import MedicalRecord, MedicalRecordAttachment, MedicalRecordVersion
from security import audit
from security.identity import PATIENT, Identity
from security.policy.records import (
    record_access,
    require_attachment_uploader,
    require_own_record,
    require_record_author,
    require_record_visible,
)


class UploadedFile(Protocol):
    """What the upload needs from the multipart part (werkzeug's FileStorage fits)."""

    stream: BinaryIO
    filename: str | None
    content_type: str | None


@dataclass(frozen=True)
class Download:
    attachment: StoredAttachment
    chunks: Iterator[bytes]


@reads
def list_records(
    session: Session, identity: Identity, where: RecordFilter, page: int, limit: int
) -> tuple[list[RecordRow], int]:
    """One page of the records the caller may read, newest first, and the total."""
    access = record_access(identity)
    audit.note(subject=access.patient_id)
    rows, total = queries.list_records(session, access, where, page, limit)
    audit.note(details={"count": len(rows)})
    return rows, total


def _readable_record(session: Session, identity: Identity, record_id: str) -> MedicalRecord:
    record = session.get(MedicalRecord, record_id)
    if record is None:
        raise RecordNotFound()
    audit.note(subject=record.patient_id)
    require_record_visible(queries.is_visible(session, record_access(identity), record.id))
    return record


def _uploadable_record(session: Session, identity: Identity, record_id: str) -> MedicalRecord:
    # Read before the role is checked, so a refused upload still names whose record it was.
    record = session.get(MedicalRecord, record_id)
    if record is not None:
        audit.note(subject=record.patient_id)
    require_attachment_uploader(identity)
    return _readable_record(session, identity, record_id)


@reads
def _readable_attachment(
    session: Session, identity: Identity, record_id: str, attachment_id: str
) -> tuple[AttachmentOfRecord, StoredAttachment]:
    """The same checks, in the same order, as `_readable_record` and then the file's: no
    record, 404; not the caller's to read, 403 (naming whose it was); no such file, 404."""
    found = queries.attachment_of_record(session, record_access(identity), record_id, attachment_id)
    if found is None:
        raise RecordNotFound()
    audit.note(subject=found.patient_id)
    require_record_visible(found.visible)
    if found.attachment is None:
        raise AttachmentNotFound()
    return found, found.attachment


def open_download(
    db: Database, storage: Storage, identity: Identity, record_id: str, attachment_id: str
) -> Download:
    """The attachment and its bytes; a patient opening their file marks the record seen."""
    found, attachment = _readable_attachment(db, identity, record_id, attachment_id)
    chunks = storage.open(attachment.storage_path)  # a storage failure is a 503 here, not later
    if identity.has_role(PATIENT) and found.is_new:
        db.run(lambda write: mark_seen(write, record_id))
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
    record = db.read(lambda session: _uploadable_record(session, identity, record_id))
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
    audit.note(resource_id=attachment.id, details={"recordId": record_id})
    return attachment


@dataclass(frozen=True)
class NewRecord:
    """A record a doctor writes for a patient in their care."""

    patient_id: str
    type: str
    title: str
    day: date
    description: str | None = None
    appointment_id: str | None = None


@writes
def write_record(session: Session, identity: Identity, new: NewRecord, clock: Clock) -> RecordRow:
    """Record what happened at a visit (or about it); the patient sees it as new."""
    audit.note(subject=new.patient_id)
    require_record_author(identity)
    if refusal := record_date_refusal(new.day, clinic_today(clock.now, clock.zone)):
        raise InvalidInput.field("date", refusal)
    # Care first: a doctor learns nothing about patients outside it, not even that they exist.
    if not in_care_of(session, identity.user_id, new.patient_id):
        raise PatientNotInCare()
    patient = session.get(User, new.patient_id)
    if patient is None or patient.role != PATIENT:
        raise InvalidInput.field("patientId", "must be a patient")
    if new.appointment_id is not None:
        visit = session.get(Appointment, new.appointment_id)
        if (
            visit is None
            or (visit.patient_id, visit.provider_id) != (patient.id, identity.user_id)
            or visit.status == "cancelled"
        ):
            raise InvalidInput.field(
                "appointmentId", "must be a non-cancelled appointment of this patient with you"
            )
    record = MedicalRecord(
        patient_id=patient.id,
        provider_id=identity.user_id,
        appointment_id=new.appointment_id,
        type=new.type,
        title=new.title,
        date=new.day,
        description=new.description,
        is_new=True,
        version=1,
    )
    session.add(record)
    session.flush()
    audit.note(resource_id=record.id, details={"type": new.type, "version": 1})
    return _shown(session, record.id)


@dataclass(frozen=True)
class Amendment:
    """A correction: the fields it gives new values, and why."""

    reason: str
    changes: dict[str, object]
    expected_version: int | None = None


@writes
def amend_record(
    session: Session,
    identity: Identity,
    record_id: str,
    amendment: Amendment,
    clock: Clock,
) -> RecordRow:
    """Correct a record without losing what it said: the current version is kept, readable,
    and the record becomes its next version, new again to the patient."""
    record = session.get(MedicalRecord, record_id, with_for_update=True)
    if record is not None:  # read first, so a refusal still names whose record it was
        audit.note(subject=record.patient_id)
    require_record_author(identity)
    if record is None:
        raise RecordNotFound()
    require_own_record(identity, record.provider_id)
    if amendment.expected_version not in (None, record.version):
        raise RecordChanged(record.version)
    current = {name: getattr(record, name) for name in AMENDABLE}
    changes = amended_fields(current, amendment.changes)
    if not changes:
        raise InvalidInput.field("body", "changes nothing: give a field a new value")
    if isinstance(day := changes.get("date"), date) and (
        refusal := record_date_refusal(day, clinic_today(clock.now, clock.zone))
    ):
        raise InvalidInput.field("date", refusal)
    session.add(
        MedicalRecordVersion(
            record_id=record.id,
            version=record.version,
            written_at=record.updated_at,
            amended_by=identity.user_id,
            amended_at=clock.now,
            amendment_reason=amendment.reason,
            **current,
        )
    )
    for name, value in changes.items():
        setattr(record, name, value)
    record.version += 1
    record.is_new = True
    session.flush()
    audit.note(details={"version": record.version, "fields": sorted(changes)})
    return _shown(session, record.id)


@reads
def record_versions(
    session: Session, identity: Identity, record_id: str
) -> tuple[RecordRow, list[tuple[MedicalRecordVersion, User | None]]]:
    """A record as it reads now, and every version an amendment replaced."""
    record = _readable_record(session, identity, record_id)
    return _shown(session, record.id), queries.versions_of(session, record.id)


def _shown(session: Session, record_id: str) -> RecordRow:
    row = queries.record_row(session, record_id)
    if row is None:  # only if it vanished within this very transaction
        raise RecordNotFound()
    return row
