"""Every error, whoever raises it, leaves in the standard format."""

from __future__ import annotations

import logging
import re

import pytest

from kernel.database import Database

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def assert_error(response, status: int, code: str, path: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["path"] == path
    assert TIMESTAMP.match(error["timestamp"])
    assert error["message"]
    assert error["requestId"] == response.headers["x-request-id"]
    return error


def test_unknown_route_is_404(client) -> None:
    assert_error(client.get("/api/no-such-thing"), 404, "NOT_FOUND", "/api/no-such-thing")


def test_wrong_method_is_405(client) -> None:
    assert_error(client.put("/health"), 405, "METHOD_NOT_ALLOWED", "/health")


def test_schema_violations_list_every_field(client) -> None:
    response = client.post(
        "/api/auth/login", json={"email": "not-an-email", "password": "", "remember": True}
    )
    error = assert_error(response, 400, "VALIDATION_ERROR", "/api/auth/login")
    assert error["message"] == "Validation failed"
    assert {d["field"]: d["message"] for d in error["details"]} == {
        "email": "must be a valid email address",
        "password": "must be at least 1 characters",
        "remember": "is not an allowed field",
    }


def test_missing_required_fields_are_named(client) -> None:
    error = assert_error(
        client.post("/api/auth/login", json={}), 400, "VALIDATION_ERROR", "/api/auth/login"
    )
    assert sorted(d["field"] for d in error["details"]) == ["email", "password"]


def test_malformed_json_is_400(client) -> None:
    response = client.post(
        "/api/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    error = assert_error(response, 400, "VALIDATION_ERROR", "/api/auth/login")
    assert error["details"][0]["field"] == "body"


def test_missing_body_is_400(client) -> None:
    response = client.post("/api/auth/login", headers={"Content-Type": "application/json"})
    assert_error(response, 400, "VALIDATION_ERROR", "/api/auth/login")


def test_wrong_content_type_is_415(client) -> None:
    response = client.post(
        "/api/auth/login", content=b"email=a", headers={"Content-Type": "text/plain"}
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE", "/api/auth/login")


def test_unknown_query_parameter_is_rejected(client, auth) -> None:
    response = client.get("/api/auth/me?debug=1&a=2", headers=auth("patient1@example.com"))
    error = assert_error(response, 400, "VALIDATION_ERROR", "/api/auth/me")
    # each unknown parameter is named as the field, as the client sent it
    assert error["details"] == [
        {"field": "a", "message": "is not a known query parameter"},
        {"field": "debug", "message": "is not a known query parameter"},
    ]


def test_unexpected_failure_is_500_without_internals(
    client, auth, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(self, work):  # type: ignore[no-untyped-def]
        raise RuntimeError("SELECT secret FROM patients -- boom")

    monkeypatch.setattr(Database, "read", explode)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/auth/me", headers=auth("patient1@example.com"))
    error = assert_error(response, 500, "INTERNAL_SERVER_ERROR", "/api/auth/me")
    assert "SELECT" not in response.text and "Traceback" not in response.text
    assert error["message"] == "An unexpected error occurred"
    logged = [r for r in caplog.records if r.exc_info and error["requestId"] in r.getMessage()]
    assert logged, "the stack trace is logged with the request id"


def test_request_id_is_echoed_when_well_formed_and_replaced_otherwise(client) -> None:
    kept = client.get("/health", headers={"X-Request-ID": "abc-123.DEF"})
    assert kept.headers["x-request-id"] == "abc-123.DEF"
    replaced = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])


def test_405_allows_every_documented_method_of_the_path(client, auth) -> None:
    response = client.request("PATCH", "/api/appointments", headers=auth("patient1@example.com"))
    assert_error(response, 405, "METHOD_NOT_ALLOWED", "/api/appointments")
    assert response.headers["allow"] == "GET, POST"
    # a concrete path wins over a templated one: this is not the appointment "search-providers"
    for method in ("GET", "PUT"):
        literal = client.request(
            method, "/api/appointments/search-providers", headers=auth("patient1@example.com")
        )
        assert literal.status_code == 405 and literal.headers["allow"] == "POST"


def test_a_path_only_flask_would_route_is_404_not_500(client, auth) -> None:
    # connexion's router refuses a newline inside a path parameter; Flask's would accept it
    response = client.get("/api/appointments/%0Aabc", headers=auth("patient1@example.com"))
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]["code"] in ("NOT_FOUND", "VALIDATION_ERROR")
