"""Login, refresh, logout, the current user and the session's CSRF token."""

from __future__ import annotations

from typing import Any, TypeVar

from models.base import utcnow
from models.users import User
from portal.errors import AuthenticationFailed, NotFound
from portal.runtime import services
from security import audit, sessions
from security.identity import Identity

T = TypeVar("T")


def _policy() -> sessions.SessionPolicy:
    current = services()
    return sessions.SessionPolicy(
        current.tokens,
        current.settings.refresh_token_expiration,
        idle_timeout=current.settings.session_timeout,
    )


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "firstName": user.first_name,
        "lastName": user.last_name,
    }


def session_json(issued: sessions.IssuedSession) -> dict[str, Any]:
    return {
        "accessToken": issued.access_token,
        "refreshToken": issued.refresh_token,
        "tokenType": "Bearer",
        "expiresIn": issued.expires_in,
        "csrfToken": issued.csrf_token,
        "user": user_json(issued.user),
    }


def _audit_user(outcome: T) -> T:
    """Before login and refresh the caller is anonymous; the audit entry names who it was
    (or, for a reused refresh token, that its session was revoked)."""
    if isinstance(outcome, sessions.IssuedSession):
        user = outcome.user
        audit.note(user_id=user.id, user_role=user.role, resource_id=user.id)
    elif isinstance(outcome, AuthenticationFailed):
        audit.note(details={"sessionRevoked": "refresh token reuse"})
    return outcome


def login(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    policy = _policy()
    audit.note(details={"email": body["email"].strip().lower()})
    issued = services().db.run(
        lambda session: _audit_user(
            sessions.login(session, policy, body["email"], body["password"], utcnow())
        )
    )
    return session_json(issued), 200


def refresh(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    policy = _policy()
    outcome = services().db.run(
        lambda session: _audit_user(
            sessions.rotate(session, policy, body["refreshToken"], utcnow())
        )
    )
    if isinstance(outcome, AuthenticationFailed):
        raise outcome
    return session_json(outcome), 200


def logout(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[str, int]:
    identity = Identity.from_token_info(token_info)
    services().db.run(
        lambda session: sessions.logout(session, identity.user_id, body["refreshToken"], utcnow())
    )
    return "", 204


def get_current_user(token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    identity = Identity.from_token_info(token_info)
    user = services().db.session().get(User, identity.user_id)
    if user is None or not user.is_active:
        raise NotFound("User not found")
    return user_json(user), 200


def get_csrf_token(token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    identity = Identity.from_token_info(token_info)
    if not identity.session_id:
        raise AuthenticationFailed("Token has no session")
    return {"csrfToken": services().tokens.csrf_token(identity.session_id)}, 200
