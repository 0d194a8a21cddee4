"""CORS as `security.cors` decides it, applied by Starlette's CORSMiddleware: a disallowed
origin gets no Access-Control-Allow-Origin, and a refused preflight is answered in the standard
error format."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kernel.settings import Settings
from portal.web.errors import error_json
from security.cors import (
    ALLOWED_HEADERS,
    ALLOWED_METHODS,
    EXPOSED_HEADERS,
    PREFLIGHT_MAX_AGE_SECONDS,
    allowed_origins,
)


class PortalCorsMiddleware(CORSMiddleware):
    """CORSMiddleware configured from the settings, refusing preflights in our error format."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        super().__init__(
            app,
            allow_origins=allowed_origins(settings),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            allow_credentials=True,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                response = self.preflight_response(request_headers=headers)
                if response.status_code >= 400:
                    response = _refusal(response, scope["path"])
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


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
