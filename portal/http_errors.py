"""Error handlers: every exception, from any layer, answered in the standard error format."""

from __future__ import annotations

import logging
import re
from typing import Any

import flask
from connexion import FlaskApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from werkzeug.exceptions import HTTPException as WerkzeugHTTPException

from portal.errors import ApiError, FieldError, error_json
from portal.middleware import request_id_of
from portal.validation import RequestValidationProblem

logger = logging.getLogger("portal.errors")

JSON = "application/json"

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
    else:
        logger.info("%s answered %s: %s", path, status, message)


def api_error(request: ConnexionRequest, exc: ApiError) -> ConnexionResponse:
    _log(exc.status, request.url.path, exc.message)
    return _response(
        exc.status,
        request.url.path,
        request_id_of(request.scope),
        message=exc.message,
        details=exc.details,
        headers=exc.headers,
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


def http_exception_handler(allowed: list[tuple[re.Pattern[str], str]]):  # type: ignore[no-untyped-def]
    """Unknown routes (404), wrong methods (405) and other framework HTTP errors.

    A 405's `Allow` lists every method the spec documents for the path (the router alone
    knows only the one route it tried)."""

    def http_exception(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        status = exc.status_code
        message = {404: "No such endpoint", 405: "Method not allowed"}.get(status)
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
    """A bug: the stack trace goes to the log with the request id, never to the client."""
    request_id = request_id_of(request.scope)
    logger.error(
        "unhandled error on %s %s (request %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    return _response(500, request.url.path, request_id)


def flask_api_error(exc: ApiError) -> flask.Response:
    """Domain errors raised in handlers, answered inside Flask so after-request hooks
    (rate-limit headers, security headers) still apply."""
    _log(exc.status, flask.request.path, exc.message)
    body = error_json(
        exc.status,
        flask.request.path,
        message=exc.message,
        details=exc.details,
        request_id=flask.request.headers.get("X-Request-ID"),
    )
    headers = dict(exc.headers)
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="patient-portal"')
    return flask.Response(body, status=exc.status, mimetype=JSON, headers=headers)


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
    app.add_error_handler(ApiError, api_error)
    app.add_error_handler(ProblemException, problem)
    app.add_error_handler(
        HTTPException, http_exception_handler(allowed_methods_by_path(spec_paths))
    )
    app.add_error_handler(Exception, unexpected)
    app.app.register_error_handler(ApiError, flask_api_error)
    app.app.register_error_handler(WerkzeugHTTPException, flask_http_exception)
