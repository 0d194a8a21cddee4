"""The outermost ASGI layer: binds the app's services and a request id to every request."""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal import runtime

REQUEST_ID_HEADER = "x-request-id"
_WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_of(scope: Scope | dict[str, Any]) -> str | None:
    """The request id (the client's if well-formed, else generated) of an ASGI scope."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            return value.decode("latin-1")
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, services: runtime.Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        token = runtime.activate(self.services)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            runtime.deactivate(token)

    @staticmethod
    def _request_id(scope: Scope) -> str:
        """Keep a well-formed client id; otherwise put a fresh one in the request's headers,
        so every layer below (Flask included) reads the same X-Request-ID."""
        headers = [(k, v) for k, v in scope["headers"] if k != REQUEST_ID_HEADER.encode()]
        given = request_id_of(scope)
        request_id = given if given and _WELL_FORMED_ID.match(given) else uuid.uuid4().hex
        headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
        scope["headers"] = headers
        return request_id
