"""The standard error body (plan 5.1) and the status -> code table (plan 5.2)."""

from __future__ import annotations

import re

from portal.errors import (
    CODE_BY_STATUS,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    Unprocessable,
    ValidationFailed,
    error_body,
)


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


def test_domain_errors_carry_their_status_and_code() -> None:
    assert (ValidationFailed.field("date", "in the past").status, Forbidden().code) == (
        400,
        "AUTHORIZATION_ERROR",
    )
    assert ValidationFailed.field("date", "x").details == [FieldError("date", "x")]
    assert (NotFound().status, Conflict().code, Unprocessable().code) == (
        404,
        "CONFLICT",
        "UNPROCESSABLE_ENTITY",
    )


def test_unknown_status_falls_back_to_a_generic_code() -> None:
    assert error_body(418, "/teapot")["error"]["code"] == "VALIDATION_ERROR"
    assert error_body(502, "/gw")["error"]["code"] == "INTERNAL_SERVER_ERROR"
