"""BodyLimitMiddleware stops a body at its operation's limit while it streams in, without reading
on; HeadLimitsMiddleware refuses long query strings and large headers before anything reads them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.exceptions import HTTPException

from kernel.errors import TooLarge
from portal.web.input_limits import (
    MULTIPART_OVERHEAD,
    BodyLimitMiddleware,
    HeadLimitsMiddleware,
    upload_operations,
)

CHUNK = 64 * 1024
LIMIT = 256 * 1024
JSON_LIMIT = 64 * 1024
UPLOAD = "uploadAttachment"


def _run(
    headers: list[tuple[bytes, bytes]], messages: int, operation: str = UPLOAD, chunk: int = CHUNK
) -> tuple[int, BaseException | None, dict[str, Any]]:
    """Send `messages` chunks through the middleware to an app that reads them all; the count
    of chunks the client sent, the error if any, and what the app saw."""
    received = 0
    seen: dict[str, Any] = {"body": b""}

    async def receive() -> dict:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": bytes(chunk), "more_body": received < messages}

    async def app(scope, receive_, send) -> None:  # type: ignore[no-untyped-def]
        seen["headers"] = dict(scope["headers"])
        more = True
        while more:
            message = await receive_()
            seen["body"] += message["body"]
            more = message["more_body"]

    async def send(message) -> None:  # type: ignore[no-untyped-def]
        pass

    middleware = BodyLimitMiddleware(
        app,
        max_upload_bytes=LIMIT,
        max_json_body_bytes=JSON_LIMIT,
        upload_operations=frozenset({UPLOAD}),
    )
    routing = {"connexion_routing": {"operation_id": f"handlers.x.{operation}"}}
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    scope["extensions"] = routing
    try:
        asyncio.run(middleware(scope, receive, send))
    except TooLarge as exc:
        return received, exc, seen
    return received, None, seen


def test_a_body_without_length_is_cut_off_just_past_the_limit():
    received, error, _ = _run([(b"transfer-encoding", b"chunked")], messages=1000)
    assert isinstance(error, TooLarge)
    assert received == (LIMIT + MULTIPART_OVERHEAD) // CHUNK + 1  # not one message more


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    too_long = str(LIMIT + MULTIPART_OVERHEAD + 1).encode()
    received, error, _ = _run([(b"content-length", too_long)], messages=1000)
    assert isinstance(error, TooLarge) and received == 0


def test_a_body_within_the_limit_passes_untouched():
    received, error, seen = _run([(b"content-length", str(4 * CHUNK).encode())], messages=4)
    assert error is None and received == 4 and len(seen["body"]) == 4 * CHUNK


@pytest.mark.parametrize("length", [b"", b"abc"])
def test_missing_or_odd_lengths_fall_back_to_counting(length):
    received, error, _ = _run([(b"content-length", length)], messages=1000)
    assert received > 1
    assert isinstance(error, TooLarge)


def test_any_other_operation_has_the_json_limit_declared_or_not():
    declared = str(JSON_LIMIT + 1).encode()
    received, error, _ = _run([(b"content-length", declared)], 1000, operation="login")
    assert isinstance(error, TooLarge) and received == 0
    assert str(error) == f"The request body exceeds the maximum of {JSON_LIMIT} bytes"
    received, error, _ = _run([(b"transfer-encoding", b"chunked")], 1000, operation="login")
    assert isinstance(error, TooLarge) and received == 2  # 2 x 64 KiB > 64 KiB: stopped there


def test_a_chunked_json_body_is_handed_on_whole_with_its_length():
    headers = [(b"transfer-encoding", b"chunked")]
    received, error, seen = _run(headers, messages=3, operation="login", chunk=1000)
    assert error is None and received == 3
    assert seen["body"] == bytes(3000)
    assert seen["headers"] == {b"content-length": b"3000"}


def test_unrouted_requests_have_the_json_limit():
    received, error, _ = _run([(b"transfer-encoding", b"chunked")], 1000, operation="")
    assert isinstance(error, TooLarge) and received == 2


def test_upload_operations_are_those_with_a_multipart_body():
    paths = {
        "/a": {
            "post": {"operationId": "up", "requestBody": {"content": {"multipart/form-data": {}}}}
        },
        "/b": {"post": {"operationId": "js", "requestBody": {"content": {"application/json": {}}}}},
        "/c": {"get": {"operationId": "none"}, "parameters": []},
    }
    assert upload_operations(paths) == {"up"}


def _head(scope_update: dict[str, Any]) -> BaseException | None:
    reached = []

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        reached.append(scope)

    middleware = HeadLimitsMiddleware(app, max_query_bytes=100, max_header_bytes=1000)
    scope = {"type": "http", "path": "/", "query_string": b"", "headers": []} | scope_update
    try:
        asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
    except HTTPException as exc:
        assert not reached
        return exc
    assert reached
    return None


def test_query_strings_and_headers_are_bounded():
    assert _head({"query_string": b"a" * 100, "headers": [(b"x", b"y" * 998)]}) is None
    too_long = _head({"query_string": b"a" * 101})
    assert isinstance(too_long, HTTPException) and too_long.status_code == 414
    too_many = _head({"headers": [(b"x", b"y" * 500), (b"z", b"y" * 499)]})
    assert isinstance(too_many, HTTPException) and too_many.status_code == 431
