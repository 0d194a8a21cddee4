"""What can go wrong with accounts and their sessions."""

from __future__ import annotations

from kernel.errors import NotAuthenticated, NotFound


class InvalidCredentials(NotAuthenticated):
    default_message = "Invalid email or password"


class InvalidRefreshToken(NotAuthenticated):
    default_message = "Invalid or expired refresh token"


class RefreshTokenReused(NotAuthenticated):
    default_message = "Refresh token was already used; the session is revoked"


class SessionIdle(NotAuthenticated):
    default_message = "Session ended after inactivity; please log in again"


class UserNotFound(NotFound):
    default_message = "User not found"
