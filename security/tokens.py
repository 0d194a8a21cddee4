"""Access tokens (HS256 JWTs), refresh tokens and the CSRF token bound to a login session."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("userId", "email", "role", "iat", "exp")
# Tokens whose signature and claims were verified, per process: a token is presented on every
# request of its session, and its verification does not change until it expires.
VERIFIED_TOKENS_KEPT = 4096


class InvalidToken(Exception):
    """The token is malformed, forged, expired or otherwise unusable; the message says which."""


@dataclass(frozen=True)
class TokenService:
    secret: str
    access_ttl: timedelta
    _verified: Callable[[str], dict[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Only tokens that pass are kept (a refusal raises): forged ones cannot fill it.
        verify = functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._verify)
        object.__setattr__(self, "_verified", verify)

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
        """Verify signature (HS256 only: the header cannot choose), expiry and claims.

        The signature and claims of a token seen before are not verified again; its expiry is
        checked on every call, as PyJWT checks it (expired at `exp` itself)."""
        claims = self._verified(token)
        if claims["exp"] <= datetime.now(UTC).timestamp():
            raise InvalidToken("Token has expired")
        return dict(claims)

    def _verify(self, token: str) -> dict[str, Any]:
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
