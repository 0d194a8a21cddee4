"""Login sessions: log in, rotate refresh tokens (with reuse detection), log out; the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from kernel.database import Database, reads, writes
from models.accounts import queries
from models.accounts.errors import (
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
    SessionIdle,
    UserNotFound,
)
from models.accounts.rules import normalize_email
from models.accounts.tables import RefreshToken, User
from models.base import new_id
from security import audit
from security.identity import Identity
from security.passwords import hash_password, needs_rehash, verify_password
from security.sessions import SessionPolicy
from security.tokens import hash_refresh_token, new_refresh_token


@dataclass(frozen=True)
class IssuedSession:
    user: User
    session_id: str
    access_token: str
    refresh_token: str
    csrf_token: str
    expires_in: int


@writes
def log_in(
    session: Session, policy: SessionPolicy, email: str, password: str, now: datetime
) -> IssuedSession:
    """Same answer, and the same argon2 work, for an unknown email and a wrong password."""
    audit.note(details={"email": normalize_email(email)})
    user = queries.find_active_user(session, email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials()
    if needs_rehash(user.password_hash):  # stored with other argon2 parameters: upgrade it
        user.password_hash = hash_password(password)
    return _issue(session, policy, user, new_id(), now)


def refresh(db: Database, policy: SessionPolicy, presented: str, now: datetime) -> IssuedSession:
    """Use up `presented` and issue the next pair of its session.

    A used token that comes back, or a session idle for the policy's timeout, ends the whole
    session: that revocation commits before the refusal is raised."""
    outcome = _rotate(db, policy, presented, now)
    if isinstance(outcome, RefreshTokenReused | SessionIdle):
        raise outcome
    return outcome


@writes
def _rotate(
    session: Session, policy: SessionPolicy, presented: str, now: datetime
) -> IssuedSession | RefreshTokenReused | SessionIdle:
    token = queries.refresh_token_by_hash(session, hash_refresh_token(presented), for_update=True)
    if token is None or token.revoked_at is not None:
        raise InvalidRefreshToken()
    if token.used_at is not None:
        queries.revoke_family(session, token.family_id, now)
        audit.note(details={"sessionRevoked": "refresh token reuse"})
        return RefreshTokenReused()
    if token.expires_at <= now:
        raise InvalidRefreshToken()
    if policy.is_idle(token, now):
        queries.revoke_family(session, token.family_id, now)
        audit.note(details={"sessionRevoked": "idle timeout"})
        return SessionIdle()
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshToken()
    token.used_at = now
    return _issue(session, policy, user, token.family_id, now)


@writes
def log_out(session: Session, identity: Identity, presented: str, now: datetime) -> None:
    """Revoke the session of `presented` if it is the caller's; unknown tokens change nothing."""
    token = queries.refresh_token_by_hash(session, hash_refresh_token(presented))
    if token is not None and token.user_id == identity.user_id:
        queries.revoke_family(session, token.family_id, now)


@reads
def current_user(session: Session, identity: Identity) -> User:
    user = session.get(User, identity.user_id)
    if user is None or not user.is_active:
        raise UserNotFound()
    return user


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
    # Before login and refresh the caller is anonymous; the entry names who it turned out to be.
    audit.note(user_id=user.id, user_role=user.role, resource_id=user.id)
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
