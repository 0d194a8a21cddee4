"""Medical records: the list, streamed attachment downloads and validated uploads."""

from __future__ import annotations

from datetime import date
from typing import Any

import flask

from handlers.formats import (
    content_disposition,
    iso_date,
    iso_datetime,
    page_headers,
    pagination,
)
from models import record_files
from models.medical_records import MedicalRecordAttachment
from models.record_queries import (
    RecordFilter,
    RecordRow,
    download_url,
    list_records,
    visible_records,
)
from portal.runtime import services
from security.identity import Identity


def attachment_json(attachment: MedicalRecordAttachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "fileName": attachment.file_name,
        "fileType": attachment.file_type,
        "fileSize": attachment.file_size,
        "url": download_url(attachment.record_id, attachment.id),
    }


def record_json(row: RecordRow) -> dict[str, Any]:
    record, provider = row.record, row.provider
    return {
        "id": record.id,
        "patientId": record.patient_id,
        "type": record.type,
        "title": record.title,
        "date": iso_date(record.date),
        "providerId": record.provider_id,
        "provider": None
        if provider is None
        else {
            "id": provider.id,
            "firstName": provider.first_name,
            "lastName": provider.last_name,
            "specialty": row.specialty,
        },
        "description": record.description,
        "attachments": [attachment_json(a) for a in row.attachments],
        "isNew": record.is_new,
        "createdAt": iso_datetime(record.created_at),
        "updatedAt": iso_datetime(record.updated_at),
    }


def list_medical_records(
    token_info: dict[str, Any],
    page: int = 1,
    limit: int = 20,
    type_: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    identity = Identity.from_token_info(token_info)
    where = RecordFilter(
        type=type_,
        start_date=date.fromisoformat(start_date) if start_date else None,
        end_date=date.fromisoformat(end_date) if end_date else None,
    )
    rows, total = list_records(
        services().db.session(),
        visible_records(identity.role, identity.user_id),
        where,
        page,
        limit,
    )
    body = {"data": [record_json(r) for r in rows], "pagination": pagination(page, limit, total)}
    return body, 200, page_headers(page, limit, total)


def download_attachment(
    token_info: dict[str, Any], record_id: str, attachment_id: str
) -> flask.Response:
    current = services()
    download = record_files.open_download(
        current.db, current.storage, Identity.from_token_info(token_info), record_id, attachment_id
    )
    attachment = download.attachment
    return flask.Response(
        download.chunks,
        status=200,
        content_type=attachment.file_type,
        headers={
            "Content-Length": str(attachment.file_size),
            "Content-Disposition": content_disposition(attachment.file_name),
            "X-Content-Type-Options": "nosniff",
        },
        direct_passthrough=True,  # hand the iterator to the server as is: no buffering
    )


def upload_attachment(
    token_info: dict[str, Any], record_id: str, file: Any
) -> tuple[dict[str, Any], int, dict[str, str]]:
    current = services()
    attachment = record_files.store_upload(
        current.db,
        current.storage,
        Identity.from_token_info(token_info),
        record_id,
        file,
        current.settings.max_upload_bytes,
    )
    return attachment_json(attachment), 201
