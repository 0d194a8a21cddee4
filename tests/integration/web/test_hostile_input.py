"""Hostile input gets a 4xx in the standard format, refused before it costs anything, and leaves
nothing behind: lone surrogates, deep nesting, odd multipart parts, oversized bodies, query
strings and headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import models
from portal.web.errors import MAX_ERROR_DETAILS
from tests.integration.web.test_errors import assert_error
from tests.support.appointments import NEXT_WEDNESDAY, REASON, booking, user_id
from tests.support.records import PDF_BYTES, records_of

JSON = {"Content-Type": "application/json"}
BOUNDARY = "hostile-boundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def row_counts(services) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows in every table, read in a fresh session: what "nothing was stored" compares."""
    with services.db.new_session() as session:
        return {
            table.name: int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            for table in models.Base.metadata.sorted_tables
        }


def stored_files(root: str) -> set[Path]:
    return {p for p in Path(root).rglob("*") if p.is_file()}


@pytest.fixture
def nothing_stored(services, backend) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Fails the test if it added a row to any table or a file to storage."""
    rows, files = row_counts(services), stored_files(backend.storage_path)
    yield
    assert row_counts(services) == rows
    assert stored_files(backend.storage_path) == files


def raw_json(value: Any) -> bytes:
    """`value` as JSON; a lone surrogate in a string becomes the escape `\\ud800`."""
    return json.dumps(value).encode()


def surrogate_cases(db_session) -> list[tuple[str, str, str, dict[str, Any], str]]:  # type: ignore[no-untyped-def]
    doctor = user_id(db_session, "doctor1@example.com")
    slot = (doctor, NEXT_WEDNESDAY, "10:00 AM")
    return [
        ("/api/appointments", "patient1@example.com", "reason",
         booking(*slot, reason=REASON + " \ud800"), "reason"),
        ("/api/appointments", "patient1@example.com", "notes",
         booking(*slot, notes="bring \udfff results"), "notes"),
        ("/api/appointments/search-providers", "patient1@example.com", "location",
         {"location": "Bost\ud800on"}, "location"),
        ("/api/appointments/search-providers", "patient1@example.com", "insuranceAccepted",
         {"insuranceAccepted": "\ud800Aetna"}, "insuranceAccepted"),
        ("/api/consents", "patient1@example.com", "details",
         {"type": "data_sharing", "details": "form \ud800 v2"}, "details"),
        ("/api/auth/login", "", "email",
         {"email": "a\ud800@example.com", "password": "x"}, "email"),
        ("/api/auth/login", "", "a key",
         {"email": "a@example.com", "password": "x", "\ud800": 1}, "\\ud800"),
    ]  # fmt: skip


SURROGATE_IDS = [
    "booking-reason", "booking-notes", "search-location", "search-insurance",
    "consent-details", "login-email", "a-key",
]  # fmt: skip


@pytest.mark.parametrize("case", range(len(SURROGATE_IDS)), ids=SURROGATE_IDS)
def test_a_lone_surrogate_in_any_json_string_is_400_naming_the_field(
    client, auth, db_session, nothing_stored, case
) -> None:
    path, email, _, body, field = surrogate_cases(db_session)[case]
    headers = {**JSON, **(auth(email) if email else {})}
    response = client.post(path, content=raw_json(body), headers=headers)
    error = assert_error(response, 400, "VALIDATION_ERROR", path)
    assert error["details"] == [
        {"field": field, "message": "must be valid Unicode text (it holds a lone surrogate)"}
    ]


def test_a_valid_surrogate_pair_is_text_and_passes(client, auth) -> None:
    body = {"type": "data_sharing", "details": "signed \ud83d\ude00"}  # an emoji, escaped
    response = client.post(
        "/api/consents", content=raw_json(body), headers={**JSON, **auth("patient1@example.com")}
    )
    assert response.status_code == 201, response.text
    assert response.json()["details"] == "signed \U0001f600"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"email":' * 1000 + b'"a@example.com"' + b"}" * 1000,
        b'{"email": "a@example.com", "password": ' + b"[" * 33 + b"]" * 33 + b"}",
    ],
    ids=["arrays-1000", "objects-1000", "a-field-33"],
)
def test_json_nested_deeper_than_the_limit_is_400(client, nothing_stored, body) -> None:
    response = client.post("/api/auth/login", content=body, headers=JSON)
    error = assert_error(response, 400, "VALIDATION_ERROR", "/api/auth/login")
    assert error["details"] == [
        {"field": "body", "message": "must not nest more than 32 levels deep"}
    ]


def test_nesting_within_the_limit_is_judged_by_the_schema(client) -> None:
    body = b'{"email": "a@example.com", "password": ' + b"[" * 31 + b"]" * 31 + b"}"
    error = assert_error(
        client.post("/api/auth/login", content=body, headers=JSON),
        400,
        "VALIDATION_ERROR",
        "/api/auth/login",
    )
    assert error["details"] == [{"field": "password", "message": "must be of type string"}]


def _part(disposition: bytes, content: bytes, mime: bytes = b"application/pdf") -> bytes:
    return (
        b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data; " + disposition
        + b"\r\nContent-Type: " + mime + b"\r\n\r\n" + content + b"\r\n"
    )  # fmt: skip


def _multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"


def _attachments_url(db_session) -> str:  # type: ignore[no-untyped-def]
    record = records_of(db_session, "patient1@example.com")[0]
    return f"/api/medical-records/{record.id}/attachments"


def test_a_file_part_without_a_filename_is_400(client, auth, db_session, nothing_stored) -> None:
    url = _attachments_url(db_session)
    body = _multipart(_part(b'name="file"', PDF_BYTES))
    response = client.post(url, content=body, headers={**MULTIPART, **auth("nurse1@example.com")})
    error = assert_error(response, 400, "VALIDATION_ERROR", url)
    assert error["details"] == [
        {"field": "file", "message": "must be a file (a part with a filename)"}
    ]


def test_an_upload_whose_filename_is_not_utf8_is_400(
    client, auth, db_session, nothing_stored
) -> None:
    url = _attachments_url(db_session)
    body = _multipart(_part(b'name="file"; filename="lab\xff\xfe\xc3.pdf"', PDF_BYTES))
    response = client.post(url, content=body, headers={**MULTIPART, **auth("nurse1@example.com")})
    error = assert_error(response, 400, "VALIDATION_ERROR", url)
    assert error["details"] == [{"field": "file", "message": "must have a UTF-8 filename"}]


def _chunks(body: bytes, size: int) -> Iterator[bytes]:
    """A body sent chunked (no Content-Length), `size` bytes a chunk."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_small_chunked_upload_is_stored_like_any_other(client, auth, db_session) -> None:
    url = _attachments_url(db_session)
    body = _multipart(_part(b'name="file"; filename="lab.pdf"', PDF_BYTES))
    response = client.post(
        url, content=_chunks(body, 100), headers={**MULTIPART, **auth("nurse1@example.com")}
    )
    assert response.status_code == 201, response.text
    assert response.json()["fileSize"] == len(PDF_BYTES)
    download = client.get(response.json()["url"], headers=auth("patient1@example.com"))
    assert download.content == PDF_BYTES


def test_a_chunked_json_body_reaches_the_handler(client, auth) -> None:
    body = raw_json({"type": "data_sharing", "details": "Sharing form v2"})
    response = client.post(
        "/api/consents",
        content=_chunks(body, 7),
        headers={**JSON, **auth("patient1@example.com")},
    )
    assert response.status_code == 201, response.text
    assert response.json()["details"] == "Sharing form v2"


def _unknown_keys(count: int) -> bytes:
    keys = ",".join(f'"key{i:06d}":0' for i in range(count))
    return ('{"email":"a@example.com","password":"x",' + keys + "}").encode()


def test_a_huge_body_of_unknown_keys_is_413_by_its_size_alone(client, nothing_stored) -> None:
    body = _unknown_keys(400_000)
    assert len(body) > 5_000_000
    response = client.post("/api/auth/login", content=body, headers=JSON)
    error = assert_error(response, 413, "PAYLOAD_TOO_LARGE", "/api/auth/login")
    assert error["message"] == "The request body exceeds the maximum of 65536 bytes"
    assert "details" not in error
    assert len(response.content) < 1000


def test_a_chunked_body_over_the_limit_is_413_without_a_length(client, nothing_stored) -> None:
    response = client.post(
        "/api/auth/login", content=_chunks(_unknown_keys(400_000), 16 * 1024), headers=JSON
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE", "/api/auth/login")
    assert len(response.content) < 1000


def test_an_error_body_lists_a_bounded_number_of_details(client, nothing_stored) -> None:
    body = _unknown_keys(4000)
    assert len(body) < 64 * 1024
    response = client.post("/api/auth/login", content=body, headers=JSON)
    error = assert_error(response, 400, "VALIDATION_ERROR", "/api/auth/login")
    assert len(error["details"]) == MAX_ERROR_DETAILS == 20
    assert error["details"][0] == {"field": "key000000", "message": "is not an allowed field"}
    assert error["omittedDetails"] == 4000 - 20
    assert len(response.content) < 4000


def test_uploads_keep_their_own_larger_limit(client, auth, db_session) -> None:
    url = _attachments_url(db_session)
    content = PDF_BYTES + bytes(200 * 1024)  # over MAX_JSON_BODY_BYTES, under MAX_UPLOAD_BYTES
    body = _multipart(_part(b'name="file"; filename="big.pdf"', content))
    response = client.post(url, content=body, headers={**MULTIPART, **auth("nurse1@example.com")})
    assert response.status_code == 201, response.text
    assert response.json()["fileSize"] == len(content)


def test_a_query_string_over_the_limit_is_414(client, auth, nothing_stored) -> None:
    response = client.get("/api/auth/me?a=" + "x" * 9000, headers=auth("patient1@example.com"))
    error = assert_error(response, 414, "URI_TOO_LONG", "/api/auth/me")
    assert error["message"] == "The query string exceeds the maximum of 8192 bytes"


def test_headers_over_the_limit_are_431(client, nothing_stored) -> None:
    response = client.get("/health", headers={"X-Padding": "x" * 40_000})
    error = assert_error(response, 431, "HEADERS_TOO_LARGE", "/health")
    assert error["message"] == "The request headers exceed the maximum of 32768 bytes"
    many = {f"X-Pad-{i}": "x" * 1000 for i in range(40)}  # each small, together too large
    assert_error(client.get("/health", headers=many), 431, "HEADERS_TOO_LARGE", "/health")


def test_ordinary_requests_pass_every_limit(client, auth) -> None:
    headers = {**auth("patient1@example.com"), "X-Padding": "x" * 8000}
    response = client.get("/api/appointments?page=1&limit=20", headers=headers)
    assert response.status_code == 200, response.text
