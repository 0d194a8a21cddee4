"""Access tokens (HS256 JWTs), refresh tokens and the CSRF token bound to a login session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("userId", "email", "role", "iat", "exp")


class InvalidToken(Exception):
    """The token is malformed, forged, expired or otherwise unusable; the message says which."""


@dataclass(frozen=True)
class TokenService:
    secret: str
    access_ttl: timedelta

    def issue_access_token(
        self,
        *,
        user_id: str,
        email: str,
        role: str,
        session_id: str,
        now: datetime,
        expires_at: datetime | None = None,
    ) -> str:
        """A token for `access_ttl` from `now`, or until `expires_at` when that is sooner."""
        expiry = min(now + self.access_ttl, expires_at or now + self.access_ttl)
        claims = {
            "sub": user_id,
            "userId": user_id,
            "email": email,
            "role": role.lower(),
            "sid": session_id,
            "iat": int(now.timestamp()),
            "exp": int(expiry.timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def decode_access_token(self, token: str) -> dict[str, Any]:
        """Verify signature (HS256 only: the header cannot choose), expiry and claims."""
        try:
            return jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("Token has expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("Invalid token") from exc

    def csrf_token(self, session_id: str) -> str:
        """Deterministic per session, useless with another session's bearer token."""
        mac = hmac.new(self.secret.encode(), f"csrf:{session_id}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def csrf_token_matches(self, session_id: str | None, presented: str | None) -> bool:
        if not session_id or not presented:
            return False
        return hmac.compare_digest(self.csrf_token(session_id), presented)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(48)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
