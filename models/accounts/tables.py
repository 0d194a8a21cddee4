"""Accounts (patients, doctors, nurses, admins) and their refresh-token sessions."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    UtcDateTime,
    created_at_column,
    enum_column,
    id_column,
    updated_at_column,
)

ROLES = ("patient", "doctor", "nurse", "admin")


class User(Base):
    __tablename__ = "users"
    # provider search lists by name (models/providers/queries/directory.py)
    __table_args__ = (sa.Index("ix_users_last_name_first_name", "last_name", "first_name"),)

    id: Mapped[str] = id_column()
    email: Mapped[str] = mapped_column(sa.String(255), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    role: Mapped[str] = enum_column("user_role", ROLES, nullable=False, index=True)
    first_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    date_of_birth: Mapped[date | None] = mapped_column(sa.Date)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class RefreshToken(Base):
    """One refresh token; a login session (family) is the chain of tokens rotated from one login.

    Only a SHA-256 of the token is stored, so a database leak yields no usable token.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    family_id: Mapped[str] = mapped_column(sa.String(36), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Every token of a session carries when its login was (SESSION_MAX_LIFETIME counts from it).
    session_started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    # Indexed for the revocations of the last access-token lifetime (security.revocations).
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    created_at: Mapped[datetime] = created_at_column()
