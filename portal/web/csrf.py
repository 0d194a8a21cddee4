"""CSRF protection (`security.csrf`) for every operation, in one ASGI middleware.

It sits after connexion's security check (it needs the verified claims) and before body
validation, so a forged request is refused whatever its body; every refusal is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from kernel.errors import NotAllowed
from portal.web.middleware import header_of, operation_id_of
from security.audit import AuditRecord
from security.csrf import CSRF_HEADER, MISSING_OR_WRONG, csrf_required
from security.tokens import TokenService


def refusal_record(scope: Scope, token_info: dict[str, Any]) -> AuditRecord:
    """The audit entry of a refused request: an authorization failure like any other."""
    role = token_info.get("role")
    client = scope.get("client") or (None, None)
    return AuditRecord(
        action="CSRF_REJECTED",
        resource="csrf",
        status="denied",
        user_id=token_info.get("userId"),
        user_role=str(role).lower() if role else None,
        ip=client[0],
        user_agent=header_of(scope, "user-agent"),
        request_id=header_of(scope, "x-request-id"),
        details={
            "operationId": operation_id_of(scope),
            "httpStatus": 403,
            "error": "AUTHORIZATION_ERROR",
        },
    )


class CsrfMiddleware:
    """Refuses state-changing /api requests without the session's CSRF token (403)."""

    def __init__(
        self, app: ASGIApp, tokens: TokenService, write_audit: Callable[[AuditRecord], None]
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.write_audit = write_audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and csrf_required(
            scope["method"], scope["path"], operation_id_of(scope)
        ):
            context = scope.get("extensions", {}).get("connexion_context") or {}
            token_info = context.get("token_info") or {}
            presented = header_of(scope, CSRF_HEADER)
            if not self.tokens.csrf_token_matches(token_info.get("sid"), presented):
                # written (or 503) before answering: refusals are audited, never dropped
                await run_in_threadpool(self.write_audit, refusal_record(scope, token_info))
                raise NotAllowed(MISSING_OR_WRONG)
        await self.app(scope, receive, send)
