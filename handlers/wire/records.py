"""How medical records and their attachments look on the wire."""

from __future__ import annotations

from typing import Any

from handlers.wire.formats import iso_date, iso_datetime
from models.accounts.tables import User
from models.records.queries import AttachmentColumns, RecordRow
from models.records.tables import MedicalRecordVersion


def download_url(record_id: str, attachment_id: str) -> str:
    return f"/api/medical-records/{record_id}/attachments/{attachment_id}/download"


def attachment(found: AttachmentColumns) -> dict[str, Any]:
    return {
        "id": found.id,
        "fileName": found.file_name,
        "fileType": found.file_type,
        "fileSize": found.file_size,
        "url": download_url(found.record_id, found.id),
    }


def record(row: RecordRow) -> dict[str, Any]:
    found, provider = row.record, row.provider
    return {
        "id": found.id,
        "patientId": found.patient_id,
        "type": found.type,
        "title": found.title,
        "date": iso_date(found.date),
        "providerId": found.provider_id,
        "provider": None
        if provider is None
        else {
            "id": provider.id,
            "firstName": provider.first_name,
            "lastName": provider.last_name,
            "specialty": row.specialty,
        },
        "description": found.description,
        "attachments": [attachment(a) for a in row.attachments],
        "isNew": found.is_new,
        "version": found.version,
        "createdAt": iso_datetime(found.created_at),
        "updatedAt": iso_datetime(found.updated_at),
    }


def version(found: MedicalRecordVersion, author: User | None) -> dict[str, Any]:
    return {
        "version": found.version,
        "type": found.type,
        "title": found.title,
        "date": iso_date(found.date),
        "description": found.description,
        "writtenAt": iso_datetime(found.written_at),
        "amendedAt": iso_datetime(found.amended_at),
        "amendedBy": None
        if author is None
        else {"id": author.id, "firstName": author.first_name, "lastName": author.last_name},
        "amendmentReason": found.amendment_reason,
    }
