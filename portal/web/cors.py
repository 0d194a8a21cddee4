"""CORS as `security.cors` decides it, applied by Starlette's CORSMiddleware: a disallowed
origin gets no Access-Control-Allow-Origin, and a refused preflight is answered in the standard
error format. Whatever header the spec declares a browser may send, and whatever response
header it documents a browser may read: the lists are read from the spec, not restated."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from itertools import chain
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.settings import Settings
from portal.web.errors import error_json
from security.cors import (
    ALLOWED_HEADERS,
    ALLOWED_METHODS,
    EXPOSED_HEADERS,
    PREFLIGHT_MAX_AGE_SECONDS,
    UNEXPOSABLE_HEADERS,
    allowed_origins,
)

OPERATION_KEYS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


class PortalCorsMiddleware(CORSMiddleware):
    """CORSMiddleware configured from the settings, refusing preflights in our error format."""

    def __init__(self, app: ASGIApp, settings: Settings, spec: dict[str, Any]) -> None:
        super().__init__(
            app,
            allow_origins=allowed_origins(settings),
            allow_methods=ALLOWED_METHODS,
            allow_headers=_merged(ALLOWED_HEADERS, declared_request_headers(spec)),
            allow_credentials=True,
            expose_headers=_merged(EXPOSED_HEADERS, documented_response_headers(spec)),
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            # No Origin, no CORS: only the `Vary: Origin` Starlette adds to every answer.
            await self.app(scope, receive, functools.partial(_varying_by_origin, send=send))
            return
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                response = self.preflight_response(request_headers=headers)
                if response.status_code >= 400:
                    response = _refusal(response, scope["path"])
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


async def _varying_by_origin(message: Message, send: Send) -> None:
    """What `CORSMiddleware.send` does to the answer of a request without an Origin."""
    if message["type"] == "http.response.start":
        message.setdefault("headers", [])
        headers = MutableHeaders(scope=message)
        headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
    await send(message)


def _refusal(response: Response, path: str) -> Response:
    """Starlette names what it refused ("Disallowed CORS origin, method") in plain text."""
    refused = bytes(response.body).decode(errors="replace")
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in {"content-length", "content-type"}
    }
    return Response(
        error_json(403, path, message=f"CORS preflight refused: {refused}"),
        status_code=403,
        media_type="application/json",
        headers=headers,
    )


def declared_request_headers(spec: dict[str, Any]) -> list[str]:
    """Every header parameter of the spec's paths and operations."""
    names = []
    for item in spec["paths"].values():
        operations = [item[key] for key in OPERATION_KEYS if key in item]
        for holder in [item, *operations]:
            for parameter in holder.get("parameters", []):
                parameter = _resolved(spec, parameter)
                if parameter["in"] == "header":
                    names.append(parameter["name"])
    return names


def documented_response_headers(spec: dict[str, Any]) -> list[str]:
    """Every header the spec documents on a response, less those browsers never expose."""
    names = []
    for item in spec["paths"].values():
        for key in OPERATION_KEYS:
            for response in item.get(key, {}).get("responses", {}).values():
                names += _resolved(spec, response).get("headers", {})
    return [name for name in names if name.lower() not in UNEXPOSABLE_HEADERS]


def _resolved(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s ("#/components/...") to the object they name."""
    while "$ref" in node:
        found: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            found = found[part]
        node = found
    return node


def _merged(*lists: Iterable[str]) -> list[str]:
    """The names of all lists, each once (case-insensitively), in first-seen order."""
    seen: dict[str, str] = {}
    for name in chain(*lists):
        seen.setdefault(name.lower(), name)
    return list(seen.values())
