"""Domain errors and the one translator that turns every failure into the standard error body.

Anything raised below a handler (a rule, a policy, connexion's validation, Flask, flask-limiter,
an unexpected bug) leaves the server as `{"error": {code, message, details?, timestamp, path}}`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("portal.errors")

CODE_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "AUTHENTICATION_ERROR",
    403: "AUTHORIZATION_ERROR",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_SERVER_ERROR",
    501: "NOT_IMPLEMENTED",
    503: "SERVICE_UNAVAILABLE",
}

DEFAULT_MESSAGE = {
    400: "Validation failed",
    401: "Invalid or missing token",
    403: "You do not have permission to perform this action",
    404: "Resource not found",
    405: "Method not allowed",
    409: "Resource conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "The request cannot be processed",
    429: "Too many requests, please try again later",
    500: "An unexpected error occurred",
    501: "Not implemented yet",
    503: "Service temporarily unavailable",
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ApiError(Exception):
    """Base of every error the API answers on purpose; subclasses fix the status."""

    status = 500

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or DEFAULT_MESSAGE[self.status]
        self.details = details or []
        self.headers = headers or {}
        super().__init__(self.message)

    @property
    def code(self) -> str:
        return CODE_BY_STATUS[self.status]


class ValidationFailed(ApiError):
    status = 400

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(details=[FieldError(field, message)])


class AuthenticationFailed(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class Unprocessable(ApiError):
    status = 422


class RateLimited(ApiError):
    status = 429


class ServiceUnavailable(ApiError):
    status = 503


def error_body(
    status: int,
    path: str,
    message: str | None = None,
    details: list[FieldError] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The standard error body (plan section 5.1)."""
    error: dict[str, Any] = {
        "code": CODE_BY_STATUS.get(status) or CODE_BY_STATUS[500 if status >= 500 else 400],
        "message": message or DEFAULT_MESSAGE.get(status, DEFAULT_MESSAGE[500]),
    }
    if details:
        error["details"] = [{"field": d.field, "message": d.message} for d in details]
    error["timestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    error["path"] = path
    if request_id:
        error["requestId"] = request_id
    return {"error": error}


def error_json(status: int, path: str, **kwargs: Any) -> bytes:
    return json.dumps(error_body(status, path, **kwargs)).encode()
