"""Session rules: how long a login session lives, when it has been idle too long, and when it
has reached its maximum lifetime.

A session is a family of refresh tokens rotated from one login; its id (`sid`) is in every access
token of that session and binds the CSRF token to it. The use cases that open, rotate and end
sessions are the accounts domain's (`models.accounts.use_cases`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from security.tokens import TokenService


class RefreshTokenTimes(Protocol):
    """What the rules need of a stored refresh token."""

    created_at: datetime
    session_started_at: datetime


@dataclass(frozen=True)
class SessionPolicy:
    tokens: TokenService
    refresh_ttl: timedelta
    idle_timeout: timedelta | None = None
    max_lifetime: timedelta | None = None

    def idle_since(self, token: RefreshTokenTimes) -> datetime:
        """When the session of `token` was last provably in use.

        Its access token could be used until it expired; any use after that needed this refresh
        token. So a session that has not refreshed `idle_timeout` after its access token expired
        has been idle at least that long. (Without recording every request, this is the latest
        moment of activity the server can vouch for.)
        """
        return token.created_at + self.tokens.access_ttl

    def is_idle(self, token: RefreshTokenTimes, now: datetime) -> bool:
        return self.idle_timeout is not None and now >= self.idle_since(token) + self.idle_timeout

    def ends_at(self, started_at: datetime) -> datetime | None:
        """When a session that began at `started_at` ends, however active it is."""
        return None if self.max_lifetime is None else started_at + self.max_lifetime

    def has_outlived(self, token: RefreshTokenTimes, now: datetime) -> bool:
        ends_at = self.ends_at(token.session_started_at)
        return ends_at is not None and now >= ends_at

    def refresh_expiry(self, started_at: datetime, now: datetime) -> datetime:
        """A refresh token expires after `refresh_ttl`, and never after its session ends."""
        return min(filter(None, (now + self.refresh_ttl, self.ends_at(started_at))))

    def access_expiry(self, started_at: datetime, now: datetime) -> datetime:
        """An access token lives `tokens.access_ttl`, and never past its session's end."""
        return min(filter(None, (now + self.tokens.access_ttl, self.ends_at(started_at))))
