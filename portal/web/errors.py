"""The one translator from failures to HTTP: every exception, from any layer (a domain error, a
policy refusal, connexion's validation, Starlette, Flask, flask-limiter, an unexpected bug),
leaves the server as the standard error body `{"error": {code, message, details?, timestamp,
path, requestId?}}` with the status its kind calls for."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import flask
from connexion import FlaskApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from werkzeug.exceptions import HTTPException as WerkzeugHTTPException

from adapters.logs import note_on_request_line
from kernel.database import DATABASE_UNAVAILABLE, is_unreachable
from kernel.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidInput,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    RuleViolation,
    TooLarge,
    Unavailable,
    UnsupportedContent,
)
from portal.web.middleware import request_id_of
from portal.web.validation import RequestValidationProblem

logger = logging.getLogger("portal.errors")

JSON = "application/json"

CODE_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "AUTHENTICATION_ERROR",
    403: "AUTHORIZATION_ERROR",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    429: "RATE_LIMIT_EXCEEDED",
    431: "HEADERS_TOO_LARGE",
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
    414: "Query string too long",
    415: "Unsupported media type",
    422: "The request cannot be processed",
    429: "Too many requests, please try again later",
    431: "Request headers too large",
    500: "An unexpected error occurred",
    501: "Not implemented yet",
    503: "Service temporarily unavailable",
}

# An error body lists at most this many details, then how many it left out (`omittedDetails`): a
# body with thousands of bad fields must not cost thousands of lines to describe.
MAX_ERROR_DETAILS = 20

# Each kind of domain error, and the status that says it in HTTP (the first match wins).
STATUS_BY_KIND: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidInput, 400),
    (NotAuthenticated, 401),
    (NotAllowed, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooLarge, 413),
    (UnsupportedContent, 415),
    (RuleViolation, 422),
    (Unavailable, 503),
)


def status_of(exc: BaseException) -> int:
    """The HTTP status the client sees for `exc`."""
    if isinstance(exc, DomainError):
        return next((status for kind, status in STATUS_BY_KIND if isinstance(exc, kind)), 500)
    if isinstance(exc, ProblemException):
        return int(exc.status)
    if isinstance(exc, HTTPException):
        return int(exc.status_code)
    if isinstance(exc, WerkzeugHTTPException):
        return int(exc.code or 500)
    return 500


def code_of(status: int) -> str:
    """The standard body's `code` for `status`."""
    return CODE_BY_STATUS.get(status) or CODE_BY_STATUS[500 if status >= 500 else 400]


def error_body(
    status: int,
    path: str,
    message: str | None = None,
    details: list[FieldError] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The standard error body."""
    error: dict[str, Any] = {
        "code": code_of(status),
        "message": message or DEFAULT_MESSAGE.get(status, DEFAULT_MESSAGE[500]),
    }
    if details:
        shown = details[:MAX_ERROR_DETAILS]
        error["details"] = [{"field": d.field, "message": d.message} for d in shown]
        if len(details) > len(shown):
            error["omittedDetails"] = len(details) - len(shown)
    error["timestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    error["path"] = path
    if request_id:
        error["requestId"] = request_id
    return {"error": error}


def error_json(status: int, path: str, **kwargs: Any) -> bytes:
    return json.dumps(error_body(status, path, **kwargs)).encode()


def _headers_of(exc: DomainError) -> dict[str, str]:
    return {} if exc.retry_after_seconds is None else {"Retry-After": str(exc.retry_after_seconds)}


_CONNEXION_MESSAGES = {
    # connexion's wording for the security scheme's failures, in our words
    "No authorization token provided": "Invalid or missing token",
}


def _response(
    status: int,
    path: str,
    request_id: str | None,
    *,
    message: str | None = None,
    details: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> ConnexionResponse:
    body = error_json(status, path, message=message, details=details, request_id=request_id)
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="patient-portal"')
    return ConnexionResponse(
        status_code=status, mimetype=JSON, content_type=JSON, body=body, headers=headers
    )


def _log(status: int, path: str, message: str) -> None:
    if status >= 500:
        logger.error("%s %s", path, message)
    else:  # a refusal is not an event of its own: the request's one line says why
        note_on_request_line(error=message)


def domain_error(request: ConnexionRequest, exc: DomainError) -> ConnexionResponse:
    status = status_of(exc)
    _log(status, request.url.path, exc.message)
    return _response(
        status,
        request.url.path,
        request_id_of(request.scope),
        message=exc.message,
        details=exc.details,
        headers=_headers_of(exc),
    )


def problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
    """connexion's own errors: validation, security scheme, media type, resolver."""
    status = exc.status
    details = exc.details if isinstance(exc, RequestValidationProblem) else None
    message = None if details else _CONNEXION_MESSAGES.get(str(exc.detail), exc.detail or None)
    if status == 400 and not details and message:
        details = [FieldError("body", message)]
        message = None
    if status == 501:
        message = "This operation is not implemented yet"
    _log(status, request.url.path, str(exc.detail))
    return _response(
        status,
        request.url.path,
        request_id_of(request.scope),
        message=message,
        details=details,
        headers=dict(exc.headers or {}),
    )


def allowed_methods_by_path(spec_paths: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """For each path template of the spec, a matcher and the `Allow` value of its methods."""
    index = []
    # literal paths first: /api/appointments/search-providers before /api/appointments/{id}
    for template, item in sorted(spec_paths.items(), key=lambda entry: entry[0].count("{")):
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        methods = [m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}]
        index.append((re.compile(f"^{pattern}$"), ", ".join(methods)))
    return index


def http_exception_handler(
    allowed: list[tuple[re.Pattern[str], str]],
) -> Callable[[ConnexionRequest, HTTPException], ConnexionResponse]:
    """Unknown routes (404), wrong methods (405) and other framework HTTP errors.

    A 405's `Allow` lists every method the spec documents for the path (the router alone
    knows only the one route it tried)."""

    def http_exception(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        status = exc.status_code
        message = {404: "No such endpoint", 405: "Method not allowed"}.get(status)
        if status in (414, 431):  # portal.web.input_limits says which limit
            message = exc.detail
        headers = dict(exc.headers or {})
        if status == 405:
            path = request.url.path
            headers["Allow"] = next((m for rx, m in allowed if rx.match(path)), "")
        _log(status, request.url.path, str(exc.detail))
        return _response(
            status, request.url.path, request_id_of(request.scope), message=message, headers=headers
        )

    return http_exception


def unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """A bug: the stack trace goes to the log with the request id, never to the client.
    A database that did not answer on a path that does not translate it is a 503, not a bug."""
    request_id = request_id_of(request.scope)
    if is_unreachable(exc):
        _log(503, request.url.path, DATABASE_UNAVAILABLE)
        return _response(
            503,
            request.url.path,
            request_id,
            message=DATABASE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    logger.error(
        "unhandled error on %s %s (request %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    return _response(500, request.url.path, request_id)


def flask_domain_error(exc: DomainError) -> flask.Response:
    """Domain errors raised in handlers, answered inside Flask so after-request hooks
    (rate-limit headers, security headers) still apply."""
    status = status_of(exc)
    _log(status, flask.request.path, exc.message)
    body = error_json(
        status,
        flask.request.path,
        message=exc.message,
        details=exc.details,
        request_id=flask.request.headers.get("X-Request-ID"),
    )
    headers = _headers_of(exc)
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="patient-portal"')
    return flask.Response(body, status=status, mimetype=JSON, headers=headers)


def flask_http_exception(exc: WerkzeugHTTPException) -> Any:
    """Werkzeug's errors (flask-limiter's 429 among them) in our format, headers kept."""
    status = exc.code or 500
    response = exc.get_response()
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in {"content-type", "content-length"}
    }
    message = None
    if status == 429:
        message = "Too many requests, please try again later"
    body = error_json(
        status,
        flask.request.path,
        message=message,
        request_id=flask.request.headers.get("X-Request-ID"),
    )
    return flask.Response(body, status=status, mimetype=JSON, headers=headers)


def register(app: FlaskApp, spec_paths: dict[str, Any]) -> None:
    app.add_error_handler(DomainError, domain_error)
    app.add_error_handler(ProblemException, problem)
    app.add_error_handler(
        HTTPException, http_exception_handler(allowed_methods_by_path(spec_paths))
    )
    app.add_error_handler(Exception, unexpected)
    app.app.register_error_handler(DomainError, flask_domain_error)
    app.app.register_error_handler(WerkzeugHTTPException, flask_http_exception)
