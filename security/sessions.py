"""Login sessions: log in, rotate refresh tokens (with reuse detection), log out.

A session is a family of refresh tokens rotated from one login; its id (`sid`) is in every access
token of that session and binds the CSRF token to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.base import new_id
from models.users import RefreshToken, User
from portal.errors import AuthenticationFailed
from security.passwords import hash_password, needs_rehash, verify_password
from security.tokens import TokenService, hash_refresh_token, new_refresh_token

INVALID_CREDENTIALS = "Invalid email or password"
INVALID_REFRESH = "Invalid or expired refresh token"
IDLE_SESSION = "Session ended after inactivity; please log in again"


@dataclass(frozen=True)
class IssuedSession:
    user: User
    session_id: str
    access_token: str
    refresh_token: str
    csrf_token: str
    expires_in: int


@dataclass(frozen=True)
class SessionPolicy:
    tokens: TokenService
    refresh_ttl: timedelta
    idle_timeout: timedelta | None = None

    def idle_since(self, token: RefreshToken) -> datetime:
        """When the session of `token` was last provably in use.

        Its access token could be used until it expired; any use after that needed this refresh
        token. So a session that has not refreshed `idle_timeout` after its access token expired
        has been idle at least that long. (Without recording every request, this is the latest
        moment of activity the server can vouch for.)
        """
        return token.created_at + self.tokens.access_ttl

    def is_idle(self, token: RefreshToken, now: datetime) -> bool:
        return self.idle_timeout is not None and now >= self.idle_since(token) + self.idle_timeout


def find_active_user(session: Session, email: str) -> User | None:
    return session.scalar(
        sa.select(User).where(User.email == email.strip().lower(), User.is_active.is_(True))
    )


def login(
    session: Session, policy: SessionPolicy, email: str, password: str, now: datetime
) -> IssuedSession:
    """Same answer, and the same argon2 work, for an unknown email and a wrong password."""
    user = find_active_user(session, email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise AuthenticationFailed(INVALID_CREDENTIALS)
    if needs_rehash(user.password_hash):  # stored with other argon2 parameters: upgrade it
        user.password_hash = hash_password(password)
    return _issue(session, policy, user, new_id(), now)


def rotate(
    session: Session, policy: SessionPolicy, presented: str, now: datetime
) -> IssuedSession | AuthenticationFailed:
    """Use up `presented` and issue the next pair of its session.

    Returns (rather than raises) the refusal when a used token comes back or the session has
    been idle for the policy's idle timeout, so the caller can commit the revocation of the
    whole session before answering 401.
    """
    token = session.scalar(
        sa.select(RefreshToken)
        .where(RefreshToken.token_hash == hash_refresh_token(presented))
        .with_for_update()
    )
    if token is None or token.revoked_at is not None:
        raise AuthenticationFailed(INVALID_REFRESH)
    if token.used_at is not None:
        revoke_family(session, token.family_id, now)
        return AuthenticationFailed("Refresh token was already used; the session is revoked")
    if token.expires_at <= now:
        raise AuthenticationFailed(INVALID_REFRESH)
    if policy.is_idle(token, now):
        revoke_family(session, token.family_id, now)
        return AuthenticationFailed(IDLE_SESSION)
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed(INVALID_REFRESH)
    token.used_at = now
    return _issue(session, policy, user, token.family_id, now)


def logout(session: Session, user_id: str, presented: str, now: datetime) -> None:
    """Revoke the session of `presented` if it is the caller's; unknown tokens change nothing."""
    token = session.scalar(
        sa.select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(presented))
    )
    if token is not None and token.user_id == user_id:
        revoke_family(session, token.family_id, now)


def revoke_family(session: Session, family_id: str, now: datetime) -> None:
    session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _issue(
    session: Session, policy: SessionPolicy, user: User, session_id: str, now: datetime
) -> IssuedSession:
    refresh_token = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=session_id,
            token_hash=hash_refresh_token(refresh_token),
            expires_at=now + policy.refresh_ttl,
            created_at=now,
        )
    )
    tokens = policy.tokens
    return IssuedSession(
        user=user,
        session_id=session_id,
        access_token=tokens.issue_access_token(
            user_id=user.id, email=user.email, role=user.role, session_id=session_id, now=now
        ),
        refresh_token=refresh_token,
        csrf_token=tokens.csrf_token(session_id),
        expires_in=int(tokens.access_ttl.total_seconds()),
    )
