"""Statements on accounts and their refresh tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.accounts.rules import normalize_email
from models.accounts.tables import RefreshToken, User


def find_active_user(session: Session, email: str) -> User | None:
    return session.scalar(
        sa.select(User).where(User.email == normalize_email(email), User.is_active.is_(True))
    )


def refresh_token_by_hash(
    session: Session, token_hash: str, *, for_update: bool = False
) -> RefreshToken | None:
    query = sa.select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return session.scalar(query.with_for_update() if for_update else query)


def revoke_family(session: Session, family_id: str, now: datetime) -> None:
    """End every token of one login session."""
    session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_other_sessions(
    session: Session, user_id: str, keep: str | None, now: datetime
) -> list[str]:
    """End every session of `user_id` but `keep`; the ids of the sessions it ended."""
    live = sa.and_(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
    if keep is not None:
        live = sa.and_(live, RefreshToken.family_id != keep)
    ended = list(session.scalars(sa.select(RefreshToken.family_id).where(live).distinct()))
    if ended:
        session.execute(sa.update(RefreshToken).where(live).values(revoked_at=now))
    return ended


def is_session_revoked(session: Session, family_id: str) -> bool:
    """Whether the login session `family_id` was ended (its tokens are revoked together)."""
    query = sa.select(RefreshToken.id).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None)
    )
    return session.scalar(query.limit(1)) is not None


def sessions_revoked_since(session: Session, since: datetime) -> list[str]:
    query = sa.select(RefreshToken.family_id).where(RefreshToken.revoked_at >= since).distinct()
    return list(session.scalars(query))


def dead_tokens(cutoff: datetime) -> sa.ColumnElement[bool]:
    """Refresh tokens that expired, or were revoked, before `cutoff` (retention)."""
    return sa.or_(
        RefreshToken.expires_at < cutoff,
        sa.and_(RefreshToken.revoked_at.is_not(None), RefreshToken.revoked_at < cutoff),
    )
