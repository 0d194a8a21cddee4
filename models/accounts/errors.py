"""What can go wrong with accounts and their sessions."""

from __future__ import annotations

from kernel.errors import FieldError, InvalidInput, NotAuthenticated, NotFound


class InvalidCredentials(NotAuthenticated):
    default_message = "Invalid email or password"


class InvalidRefreshToken(NotAuthenticated):
    default_message = "Invalid or expired refresh token"


class RefreshTokenReused(NotAuthenticated):
    default_message = "Refresh token was already used; the session is revoked"


class SessionIdle(NotAuthenticated):
    default_message = "Session ended after inactivity; please log in again"


class SessionExpired(NotAuthenticated):
    default_message = "Session reached its maximum lifetime; please log in again"


class WrongCurrentPassword(InvalidInput):
    default_message = "Current password is incorrect"

    def __init__(self) -> None:
        super().__init__(
            details=[FieldError("currentPassword", "Current password is incorrect")],
        )


class UnacceptablePassword(InvalidInput):
    default_message = "The new password is not acceptable"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(details=[FieldError("newPassword", problem) for problem in problems])


class UserNotFound(NotFound):
    default_message = "User not found"
