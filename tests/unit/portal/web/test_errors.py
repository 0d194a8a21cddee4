"""The standard error body, the status -> code table, and the status of each domain error kind."""

from __future__ import annotations

import re

from kernel.errors import Conflict, FieldError, InvalidInput, NotAllowed, NotFound, RuleViolation
from portal.web.errors import CODE_BY_STATUS, code_of, error_body, status_of


def test_error_body_has_the_plans_shape() -> None:
    body = error_body(
        400, "/api/appointments", details=[FieldError("reason", "must be at least 10 characters")]
    )
    error = body["error"]
    assert list(body) == ["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["message"] == "Validation failed"
    assert error["details"] == [{"field": "reason", "message": "must be at least 10 characters"}]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", error["timestamp"])
    assert error["path"] == "/api/appointments"
    assert "requestId" not in error


def test_details_are_omitted_when_there_are_none() -> None:
    assert "details" not in error_body(404, "/x")["error"]


def test_plan_error_codes_map_from_statuses() -> None:
    for status, code in {
        400: "VALIDATION_ERROR", 401: "AUTHENTICATION_ERROR", 403: "AUTHORIZATION_ERROR",
        404: "NOT_FOUND", 409: "CONFLICT", 422: "UNPROCESSABLE_ENTITY",
        429: "RATE_LIMIT_EXCEEDED", 500: "INTERNAL_SERVER_ERROR",
    }.items():  # fmt: skip
        assert CODE_BY_STATUS[status] == code


def test_domain_errors_translate_to_their_status_and_code() -> None:
    assert (
        status_of(InvalidInput.field("date", "in the past")),
        code_of(status_of(NotAllowed())),
    ) == (
        400,
        "AUTHORIZATION_ERROR",
    )
    assert InvalidInput.field("date", "x").details == [FieldError("date", "x")]
    assert (
        status_of(NotFound()),
        code_of(status_of(Conflict())),
        code_of(status_of(RuleViolation())),
    ) == (
        404,
        "CONFLICT",
        "UNPROCESSABLE_ENTITY",
    )


def test_unknown_status_falls_back_to_a_generic_code() -> None:
    assert error_body(418, "/teapot")["error"]["code"] == "VALIDATION_ERROR"
    assert error_body(502, "/gw")["error"]["code"] == "INTERNAL_SERVER_ERROR"
