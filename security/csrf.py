"""CSRF protection (plan 7.4), enforced for every operation in one ASGI middleware.

Every POST, PUT, PATCH and DELETE under /api, except login and refresh (which have no session
yet), must carry `X-CSRF-Token` equal to the token of the bearer's login session (an HMAC over
the session id, see `TokenService.csrf_token`), so a token is useless with another session's
bearer token. The middleware sits after connexion's security check (it needs the verified
claims) and before body validation, so a forged request is refused whatever its body.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from portal.errors import Forbidden
from portal.middleware import operation_id_of
from portal.runtime import services
from security import audit
from security.audit_chain import AuditRecord

CSRF_HEADER = "x-csrf-token"
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT_OPERATIONS = frozenset({"login", "refresh"})
PROTECTED_PREFIX = "/api/"
MISSING_OR_WRONG = (
    "Missing or invalid CSRF token: send the session's token (from login or "
    "GET /api/auth/csrf-token) in the X-CSRF-Token header"
)


def csrf_required(method: str, path: str, operation_id: str | None) -> bool:
    return (
        method.upper() in STATE_CHANGING_METHODS
        and path.startswith(PROTECTED_PREFIX)
        and operation_id not in EXEMPT_OPERATIONS
    )


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None


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
        user_agent=_header(scope, "user-agent"),
        request_id=_header(scope, "x-request-id"),
        details={
            "operationId": operation_id_of(scope),
            "httpStatus": 403,
            "error": "AUTHORIZATION_ERROR",
        },
    )


class CsrfMiddleware:
    """Refuses state-changing /api requests without the session's CSRF token (403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and csrf_required(
            scope["method"], scope["path"], operation_id_of(scope)
        ):
            context = scope.get("extensions", {}).get("connexion_context") or {}
            token_info = context.get("token_info") or {}
            presented = _header(scope, CSRF_HEADER)
            if not services().tokens.csrf_token_matches(token_info.get("sid"), presented):
                # written (or 503) before answering: refusals are audited, never dropped
                await run_in_threadpool(audit.write_now, refusal_record(scope, token_info))
                raise Forbidden(MISSING_OR_WRONG)
        await self.app(scope, receive, send)
