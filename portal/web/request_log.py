"""Per-request observation: one JSON log line and the request metrics for every HTTP request.

Sits just inside `RequestContextMiddleware` (so the request id is settled) and outside
connexion's exception, routing and security layers, whose results it reads from the ASGI
scope after the response: the operationId the router matched and the token's user id.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters import metrics
from portal.web.middleware import operation_id_of, request_id_of

logger = logging.getLogger("portal.request")
auth_logger = logging.getLogger("portal.auth")


def user_of(scope: Scope) -> str | None:
    """The authenticated user's id, when the security scheme accepted a token."""
    token_info: Any = scope.get("extensions", {}).get("connexion_context", {}).get("token_info")
    return token_info.get("userId") if isinstance(token_info, dict) else None


def request_fields(scope: Scope, status: int, seconds: float) -> dict[str, Any]:
    """The fields of the request log line (no query string: it may carry search terms)."""
    return {
        "requestId": request_id_of(scope),
        "userId": user_of(scope),
        "operationId": operation_id_of(scope),
        "method": scope.get("method"),
        "path": scope.get("path"),
        "status": status,
        "durationMs": round(seconds * 1000, 2),
    }


class RequestObservationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # connexion's router works on a shallow copy of the scope and records the operation (and
        # the security layer the token) in its "extensions" dict: with the dict created here,
        # the copy shares it and we read the results. (Test clients create it; uvicorn doesn't.)
        scope.setdefault("extensions", {})
        started = time.perf_counter()
        status = 500  # if the app raises before answering, the server answers 500
        recorded = False

        async def observe(message: Message) -> None:
            nonlocal status, recorded
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Recorded before the last byte leaves: a client that has its answer finds
                # the request already counted in /metrics, whichever worker it asks.
                recorded = True
                self._record(scope, status, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            if not recorded:
                self._record(scope, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        fields = request_fields(scope, status, seconds)
        metrics.record_request(fields["operationId"], scope.get("method", ""), status, seconds)
        logger.log(logging.ERROR if status >= 500 else logging.INFO, "request", extra=fields)
        if status == 401:
            client = scope.get("client")
            auth_logger.warning(
                "authentication failed",
                extra={
                    "requestId": fields["requestId"],
                    "operationId": fields["operationId"],
                    "path": fields["path"],
                    "client": client[0] if client else None,
                },
            )
