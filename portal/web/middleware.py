"""The outermost ASGI layer: binds the app's services and a request id to every request, and
gives every response, errors and preflights included, its request id, security headers and
Cache-Control (rules in `security.headers`), and one access-log line."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.logs import current_request_id
from handlers import dependencies
from portal.runtime import Services
from security import headers as response_headers

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
REQUEST_ID_HEADER = "x-request-id"
_WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_of(scope: Scope | dict[str, Any]) -> str | None:
    """The request id (the client's if well-formed, else generated) of an ASGI scope."""
    return header_of(scope, REQUEST_ID_HEADER)


def operation_id_of(scope: Scope | dict[str, Any]) -> str | None:
    """The spec's operationId (`createAppointment`) of the request, once connexion routed it.

    connexion records the resolved handler name (`handlers.appointments.createAppointment`).
    """
    routing = (scope.get("extensions") or {}).get("connexion_routing") or {}
    resolved: str | None = routing.get("operation_id")
    return resolved.rpartition(".")[2] if resolved else None


def header_of(scope: Scope | dict[str, Any], name: str) -> str | None:
    """The first value of header `name` (lowercase) in an ASGI scope."""
    wanted = name.encode()
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, services: Services, trusted_proxies: int = 0) -> None:
        self.app = app
        self.services = services
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        # connexion's router copies the scope; an `extensions` dict made here is shared by the
        # copies, so the operationId it records is visible to `send_with_headers` below.
        scope.setdefault("extensions", {})
        https = self._is_https(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_our_headers(
                    message.get("headers") or (), request_id, operation_id_of(scope),
                    message["status"], https,
                )  # fmt: skip
            await send(message)

        token = dependencies.activate(self.services)
        id_token = current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current_request_id.reset(id_token)
            dependencies.deactivate(token)

    def _is_https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        # Behind trusted proxies, the proxy that terminated TLS says so.
        forwarded = header_of(scope, "x-forwarded-proto")
        if not self.trusted_proxies or not forwarded:
            return False
        return forwarded.split(",")[-1].strip().lower() == "https"

    @staticmethod
    def _request_id(scope: Scope) -> str:
        """Keep a well-formed client id; otherwise put a fresh one in the request's headers,
        so every layer below (Flask included) reads the same X-Request-ID."""
        given: str | None = None
        headers = []
        for name, value in scope["headers"]:
            if name.lower() == _REQUEST_ID_NAME:
                if given is None:
                    given = bytes(value).decode("latin-1")
            else:
                headers.append((name, value))
        request_id = given if given and _WELL_FORMED_ID.match(given) else uuid.uuid4().hex
        headers.append((_REQUEST_ID_NAME, request_id.encode()))
        scope["headers"] = headers
        return request_id


def _with_our_headers(
    headers: Iterable[tuple[bytes, bytes]],
    request_id: str,
    operation_id: str | None,
    status: int,
    https: bool,
) -> list[tuple[bytes, bytes]]:
    """The response's headers, with ours (`security.headers`) in place of any of those names."""
    kept = []
    content_type: str | None = None
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-type" and content_type is None:
            content_type = bytes(value).decode("latin-1")
        if lower not in _OUR_NAMES:
            kept.append((name, value))
    kept.append((_REQUEST_ID_NAME, request_id.encode("latin-1")))
    kept.append((b"cache-control", response_headers.cache_control(operation_id, status).encode()))
    kept += _encoded_security_headers(content_type, https)
    return kept


@functools.lru_cache(maxsize=64)
def _encoded_security_headers(
    content_type: str | None, https: bool
) -> tuple[tuple[bytes, bytes], ...]:
    """`security.headers.security_headers`, as ASGI header pairs (a few content types recur)."""
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response_headers.security_headers(content_type, https=https).items()
    )


_REQUEST_ID_NAME = REQUEST_ID_HEADER.encode()
# Every header `_with_our_headers` sets (the security headers of either kind of response).
_OUR_NAMES = frozenset(
    {_REQUEST_ID_NAME, b"cache-control"}
    | {
        name
        for content_type in ("text/html", None)
        for https in (False, True)
        for name, _ in _encoded_security_headers(content_type, https)
    }
)


class ConcretePathsFirst:
    """OpenAPI matches a concrete path before a templated one: `GET
    /api/appointments/search-providers` is a wrong method on the search path (405), not a
    request for the appointment whose id is "search-providers"."""

    def __init__(self, app: ASGIApp, spec_paths: dict[str, Any]) -> None:
        self.app = app
        self.concrete = {
            path: {method.upper() for method in item if method in HTTP_METHODS}
            for path, item in spec_paths.items()
            if "{" not in path
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            allowed = self.concrete.get(scope["path"])
            method = "GET" if scope["method"] == "HEAD" else scope["method"]
            if allowed is not None and method not in allowed:
                raise HTTPException(status_code=405)
        await self.app(scope, receive, send)
