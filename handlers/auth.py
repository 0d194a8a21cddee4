"""Login, refresh, logout, password change, the current user and the session's CSRF token."""

from __future__ import annotations

from typing import Any

from handlers import dependencies
from handlers.wire import accounts as wire
from handlers.wire import audit as audit_wire
from handlers.wire.formats import page_headers, pagination
from kernel.clock import utcnow
from kernel.errors import NotAuthenticated
from models.access_report.use_cases import access_report
from models.accounts import use_cases
from security.identity import Identity
from security.sessions import SessionPolicy


def _policy() -> SessionPolicy:
    current = dependencies.current()
    return SessionPolicy(
        current.tokens,
        current.settings.refresh_token_expiration,
        idle_timeout=current.settings.session_timeout,
        max_lifetime=current.settings.session_max_lifetime,
    )


def login(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    issued = use_cases.log_in(
        dependencies.current().db, _policy(), body["email"], body["password"], utcnow()
    )
    return wire.session(issued), 200


def refresh(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    current = dependencies.current()
    issued = use_cases.refresh(
        current.db, _policy(), current.revocations, body["refreshToken"], utcnow()
    )
    return wire.session(issued), 200


def logout(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[str, int]:
    current = dependencies.current()
    use_cases.log_out(
        current.db,
        current.revocations,
        Identity.from_token_info(token_info),
        body["refreshToken"],
        utcnow(),
    )
    return "", 204


def change_password(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[str, int]:
    current = dependencies.current()
    use_cases.change_password(
        current.db,
        current.revocations,
        Identity.from_token_info(token_info),
        body["currentPassword"],
        body["newPassword"],
        utcnow(),
    )
    return "", 204


def get_current_user(token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    user = use_cases.current_user(dependencies.current().db, Identity.from_token_info(token_info))
    return wire.user(user), 200


def get_access_report(
    token_info: dict[str, Any], page: int = 1, limit: int = 20
) -> tuple[dict[str, Any], int, dict[str, str]]:
    found, total = access_report(
        dependencies.current().db, Identity.from_token_info(token_info), page, limit
    )
    body = {
        "data": [audit_wire.access(a) for a in found],
        "pagination": pagination(page, limit, total),
    }
    return body, 200, page_headers(page, limit, total)


def get_csrf_token(token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    identity = Identity.from_token_info(token_info)
    if not identity.session_id:
        raise NotAuthenticated("Token has no session")
    return {"csrfToken": dependencies.current().tokens.csrf_token(identity.session_id)}, 200
