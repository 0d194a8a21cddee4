"""Bounds on what a request may make the server read and hold, checked before any parsing.

- `HeadLimitsMiddleware` (before routing): a query string longer than MAX_QUERY_STRING_BYTES is
  414, request headers larger than MAX_HEADER_BYTES in total are 431.
- `BodyLimitMiddleware` (after routing, before validation): an upload operation (a multipart
  body in the spec) may send MAX_UPLOAD_BYTES plus the multipart framing, streamed; any other
  request MAX_JSON_BODY_BYTES, read whole before validation and handed on with its length, so a
  chunked JSON body reaches Flask like any other. Both answer 413 from `Content-Length` before
  reading anything, and count the bytes as they arrive for bodies sent without a length (or with
  a false one).

Every refusal leaves as the standard error body (`portal.web.errors`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.errors import TooLarge
from portal.web.middleware import operation_id_of

# Room for the multipart framing (boundaries, part headers) around a file of the maximum size.
MULTIPART_OVERHEAD = 64 * 1024


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"The file exceeds the maximum upload size of {limit} bytes")


def body_too_large(limit: int) -> TooLarge:
    return TooLarge(f"The request body exceeds the maximum of {limit} bytes")


def upload_operations(spec_paths: dict[str, Any]) -> frozenset[str]:
    """The operationIds whose request body is multipart/form-data: the only ones that may send
    more than MAX_JSON_BODY_BYTES."""
    return frozenset(
        operation["operationId"]
        for item in spec_paths.values()
        for operation in item.values()
        if isinstance(operation, dict)
        and "multipart/form-data" in (operation.get("requestBody") or {}).get("content", {})
    )


class HeadLimitsMiddleware:
    """414 for a query string over `max_query_bytes`, 431 for headers over `max_header_bytes`
    (names and values, summed), before the router or any layer looks at them."""

    def __init__(self, app: ASGIApp, max_query_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_query_bytes = max_query_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if len(scope.get("query_string", b"")) > self.max_query_bytes:
                raise HTTPException(
                    414, f"The query string exceeds the maximum of {self.max_query_bytes} bytes"
                )
            if _header_bytes(scope.get("headers", ())) > self.max_header_bytes:
                raise HTTPException(
                    431, f"The request headers exceed the maximum of {self.max_header_bytes} bytes"
                )
        await self.app(scope, receive, send)


def _header_bytes(headers: Iterable[tuple[bytes, bytes]]) -> int:
    return sum(len(name) + len(value) for name, value in headers)


class BodyLimitMiddleware:
    """413 for a body over its operation's limit; JSON-sized bodies are read whole first."""

    def __init__(
        self,
        app: ASGIApp,
        max_upload_bytes: int,
        max_json_body_bytes: int,
        upload_operations: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes
        self.max_json_body_bytes = max_json_body_bytes
        self.upload_operations = upload_operations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if operation_id_of(scope) in self.upload_operations:
            limit = self.max_upload_bytes + MULTIPART_OVERHEAD
            refusal = too_large(self.max_upload_bytes)
            _refuse_declared_length(scope, limit, refusal)
            await self.app(scope, _counting(receive, limit, refusal), send)
            return
        limit = self.max_json_body_bytes
        refusal = body_too_large(limit)
        _refuse_declared_length(scope, limit, refusal)
        body = await _read_whole(_counting(receive, limit, refusal))
        await self.app(_with_length(scope, len(body)), _replay(body, receive), send)


def _refuse_declared_length(scope: Scope, limit: int, refusal: TooLarge) -> None:
    declared = Headers(scope=scope).get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise refusal


def _counting(receive: Receive, limit: int, refusal: TooLarge) -> Receive:
    """`receive`, raising `refusal` as soon as more than `limit` body bytes have arrived."""
    received = 0

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise refusal
        return message

    return counting_receive


async def _read_whole(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _with_length(scope: Scope, length: int) -> Scope:
    """The scope with the body's true length, and no transfer coding (it has been decoded):
    Flask reads a body only up to its Content-Length."""
    headers = [
        (name, value)
        for name, value in scope["headers"]
        if name.lower() not in (b"content-length", b"transfer-encoding")
    ]
    if length or any(name.lower() == b"content-length" for name, _ in scope["headers"]):
        headers.append((b"content-length", str(length).encode()))
    scope["headers"] = headers
    return scope


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that sends `body` once, then defers to the real one (disconnects)."""
    sent = False

    async def receive_() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_
