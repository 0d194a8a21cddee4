"""Medical records: the list, streamed attachment downloads and validated uploads."""

from __future__ import annotations

from datetime import date
from typing import Any

import flask

from handlers import dependencies
from handlers.wire import records as wire
from handlers.wire.formats import content_disposition, page_headers, pagination
from models.records import use_cases
from models.records.queries import RecordFilter
from security.identity import Identity


def list_medical_records(
    token_info: dict[str, Any],
    page: int = 1,
    limit: int = 20,
    type_: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    where = RecordFilter(
        type=type_,
        start_date=date.fromisoformat(start_date) if start_date else None,
        end_date=date.fromisoformat(end_date) if end_date else None,
    )
    rows, total = use_cases.list_records(
        dependencies.current().db, Identity.from_token_info(token_info), where, page, limit
    )
    body = {"data": [wire.record(r) for r in rows], "pagination": pagination(page, limit, total)}
    return body, 200, page_headers(page, limit, total)


def download_attachment(
    token_info: dict[str, Any], record_id: str, attachment_id: str
) -> flask.Response:
    current = dependencies.current()
    download = use_cases.open_download(
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
) -> tuple[dict[str, Any], int]:
    current = dependencies.current()
    attachment = use_cases.store_upload(
        current.db,
        current.storage,
        Identity.from_token_info(token_info),
        record_id,
        file,
        current.settings.max_upload_bytes,
    )
    return wire.attachment(attachment), 201


def create_medical_record(
    body: dict[str, Any], token_info: dict[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    new = use_cases.NewRecord(
        patient_id=body["patientId"],
        type=body["type"],
        title=body["title"],
        day=date.fromisoformat(body["date"]),
        description=body.get("description"),
        appointment_id=body.get("appointmentId"),
    )
    current = dependencies.current()
    row = use_cases.write_record(
        current.db, Identity.from_token_info(token_info), new, dependencies.clinic_clock()
    )
    headers = {"Location": f"/api/medical-records/{row.record.id}/versions"}
    return wire.record(row), 201, headers


def amend_medical_record(
    record_id: str, body: dict[str, Any], token_info: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    changes: dict[str, object] = {
        name: body[name] for name in ("type", "title", "description") if name in body
    }
    if "date" in body:
        changes["date"] = date.fromisoformat(body["date"])
    amendment = use_cases.Amendment(
        reason=body["reason"], changes=changes, expected_version=body.get("expectedVersion")
    )
    row = use_cases.amend_record(
        dependencies.current().db,
        Identity.from_token_info(token_info),
        record_id,
        amendment,
        dependencies.clinic_clock(),
    )
    return wire.record(row), 200


def list_medical_record_versions(
    record_id: str, token_info: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    row, versions = use_cases.record_versions(
        dependencies.current().db, Identity.from_token_info(token_info), record_id
    )
    body = {"current": wire.record(row), "previous": [wire.version(v, a) for v, a in versions]}
    return body, 200
