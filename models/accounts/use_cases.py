"""Login sessions: log in, rotate refresh tokens (with reuse detection), log out, change the
password; the caller.

A use case that ends sessions commits their revocation first, then tells the revocation list
(`security.revocations`), so their access tokens stop at once in every worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kernel.database import Database, reads, writes
from models.accounts import queries
from models.accounts.errors import (
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
    SessionExpired,
    SessionIdle,
    UnacceptablePassword,
    UserNotFound,
    WrongCurrentPassword,
)
from models.accounts.rules import normalize_email
from models.accounts.tables import RefreshToken, User
from models.base import new_id
from security import audit
from security.identity import Identity
from security.passwords import hash_password, needs_rehash, password_problems, verify_password
from security.revocations import SessionRevocations
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
    return _issue(session, policy, user, new_id(), now, started_at=now)


Ended = RefreshTokenReused | SessionIdle | SessionExpired


def refresh(
    db: Database,
    policy: SessionPolicy,
    revocations: SessionRevocations,
    presented: str,
    now: datetime,
) -> IssuedSession:
    """Use up `presented` and issue the next pair of its session.

    A used token that comes back, a session idle for the policy's timeout, or one past its
    maximum lifetime ends the whole session: that revocation commits, and reaches the
    revocation list, before the refusal is raised."""
    outcome = _rotate(db, policy, presented, now)
    if isinstance(outcome, tuple):
        session_id, refusal = outcome
        revocations.revoke([session_id])
        raise refusal
    return outcome


@writes
def _rotate(
    session: Session, policy: SessionPolicy, presented: str, now: datetime
) -> IssuedSession | tuple[str, Ended]:
    token = queries.refresh_token_by_hash(session, hash_refresh_token(presented), for_update=True)
    if token is None or token.revoked_at is not None:
        raise InvalidRefreshToken()
    ended = _why_ended(policy, token, now)
    if ended is not None:
        reason, refusal = ended
        queries.revoke_family(session, token.family_id, now)
        audit.note(details={"sessionRevoked": reason})
        return token.family_id, refusal
    if token.expires_at <= now:
        raise InvalidRefreshToken()
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshToken()
    token.used_at = now
    return _issue(session, policy, user, token.family_id, now, started_at=token.session_started_at)


def _why_ended(
    policy: SessionPolicy, token: RefreshToken, now: datetime
) -> tuple[str, Ended] | None:
    """Whether presenting `token` now ends its session, why (for the audit), and the refusal."""
    if token.used_at is not None:
        return "refresh token reuse", RefreshTokenReused()
    if policy.has_outlived(token, now):
        return "maximum lifetime", SessionExpired()
    if token.expires_at > now and policy.is_idle(token, now):
        return "idle timeout", SessionIdle()
    return None


def log_out(
    db: Database,
    revocations: SessionRevocations,
    identity: Identity,
    presented: str,
    now: datetime,
) -> None:
    """End the session of `presented` if it is the caller's; unknown tokens change nothing."""
    revocations.revoke(_revoke_presented(db, identity, presented, now))


@writes
def _revoke_presented(
    session: Session, identity: Identity, presented: str, now: datetime
) -> list[str]:
    token = queries.refresh_token_by_hash(session, hash_refresh_token(presented))
    if token is None or token.user_id != identity.user_id:
        return []
    queries.revoke_family(session, token.family_id, now)
    return [token.family_id]


def change_password(
    db: Database,
    revocations: SessionRevocations,
    identity: Identity,
    current_password: str,
    new_password: str,
    now: datetime,
) -> None:
    """Replace the caller's password and end every other session of theirs (the caller's own
    stays): a thief holding another session loses it with the old password."""
    revocations.revoke(_replace_password(db, identity, current_password, new_password, now))


@writes
def _replace_password(
    session: Session, identity: Identity, current_password: str, new_password: str, now: datetime
) -> list[str]:
    audit.note(resource_id=identity.user_id)
    user = session.get(User, identity.user_id)
    if user is None or not user.is_active:
        raise UserNotFound()
    if not verify_password(user.password_hash, current_password):
        raise WrongCurrentPassword()
    if problems := password_problems(new_password, current=current_password, email=user.email):
        raise UnacceptablePassword(problems)
    user.password_hash = hash_password(new_password)
    ended = queries.revoke_other_sessions(session, user.id, identity.session_id, now)
    audit.note(details={"otherSessionsEnded": len(ended)})
    return ended


def sessions_revoked_within(db: Database, period: timedelta, now: datetime) -> list[str]:
    """Sessions ended in the last `period` (an access token outlives its session's end by at
    most its lifetime), read on the primary: a replica may not have them yet."""
    return db.run(lambda session: queries.sessions_revoked_since(session, now - period))


def is_session_revoked(db: Database, session_id: str) -> bool:
    """Asked on the primary, for the same reason."""
    return db.run(lambda session: queries.is_session_revoked(session, session_id))


@reads
def current_user(session: Session, identity: Identity) -> User:
    user = session.get(User, identity.user_id)
    if user is None or not user.is_active:
        raise UserNotFound()
    return user


def _issue(
    session: Session,
    policy: SessionPolicy,
    user: User,
    session_id: str,
    now: datetime,
    *,
    started_at: datetime,
) -> IssuedSession:
    refresh_token = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=session_id,
            token_hash=hash_refresh_token(refresh_token),
            expires_at=policy.refresh_expiry(started_at, now),
            session_started_at=started_at,
            created_at=now,
        )
    )
    # Before login and refresh the caller is anonymous; the entry names who it turned out to be.
    audit.note(user_id=user.id, user_role=user.role, resource_id=user.id)
    tokens = policy.tokens
    access_expiry = policy.access_expiry(started_at, now)
    return IssuedSession(
        user=user,
        session_id=session_id,
        access_token=tokens.issue_access_token(
            user_id=user.id,
            email=user.email,
            role=user.role,
            session_id=session_id,
            now=now,
            expires_at=access_expiry,
        ),
        refresh_token=refresh_token,
        csrf_token=tokens.csrf_token(session_id),
        expires_in=int((access_expiry - now).total_seconds()),
    )
