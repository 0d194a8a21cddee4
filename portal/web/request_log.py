"""Per-request observation: one JSON log line and the request metrics for every HTTP request.

The line carries what the layers below noted (`adapters.logs.note_on_request_line`: the
error an answer gives); a 401 is logged as a warning with the client's address, the
authentication-failure record.

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
from adapters.logs import current_request_notes
from portal.web.middleware import operation_id_of, request_id_of

logger = logging.getLogger("portal.request")


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
        notes: dict[str, Any] = {}
        notes_token = current_request_notes.set(notes)
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
                self._record(scope, status, time.perf_counter() - started, notes)
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            current_request_notes.reset(notes_token)
            if not recorded:
                self._record(scope, status, time.perf_counter() - started, notes)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float, notes: dict[str, Any]) -> None:
        fields = {**request_fields(scope, status, seconds), **notes}
        metrics.record_request(fields["operationId"], scope.get("method", ""), status, seconds)
        level = logging.INFO
        if status == 401:  # an authentication failure: who tried, from where (never the email)
            client = scope.get("client")
            fields["client"] = client[0] if client else None
            level = logging.WARNING
        elif status >= 500:
            level = logging.ERROR
        if logger.isEnabledFor(level):
            # `logger.log` would also walk the stack for the caller's file and line, which no
            # format of ours prints: the same record, made directly.
            record = logger.makeRecord(
                logger.name, level, __file__, 0, "request", (), None, extra=fields
            )
            logger.handle(record)
