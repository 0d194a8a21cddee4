"""The kinds of failure every layer may raise, in domain terms: what went wrong, never how HTTP
says it. One translator in the web layer (`portal.web.errors`) maps each kind to a status and the
standard error body; domains subclass these kinds for their own errors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input, named as the caller named it."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every failure the API reports on purpose; `message` is for the caller to read."""

    default_message = "The request cannot be completed"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[FieldError] | None = None,
        retry_after_seconds: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details or []
        self.retry_after_seconds = retry_after_seconds
        super().__init__(self.message)


class InvalidInput(DomainError):
    """An input is malformed or out of range."""

    default_message = "Validation failed"

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(details=[FieldError(field, message)])


class NotAuthenticated(DomainError):
    """The caller is not who they claim, or did not say."""

    default_message = "Invalid or missing token"


class NotAllowed(DomainError):
    """The caller is known but may not do this."""

    default_message = "You do not have permission to perform this action"


class NotFound(DomainError):
    default_message = "Resource not found"


class Conflict(DomainError):
    """The request collides with the current state (a slot taken, a consent already given)."""

    default_message = "Resource conflict"


class TooLarge(DomainError):
    default_message = "Request body too large"


class UnsupportedContent(DomainError):
    """The content is of a kind this operation does not take."""

    default_message = "Unsupported media type"


class RuleViolation(DomainError):
    """Well-formed, but a business rule refuses it (a past appointment cannot be moved)."""

    default_message = "The request cannot be processed"


class Unavailable(DomainError):
    """A dependency (database, storage, audit trail) cannot serve the request now."""

    default_message = "Service temporarily unavailable"
