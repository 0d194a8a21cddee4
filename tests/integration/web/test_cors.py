"""CORS options, checked header by header."""

from __future__ import annotations

from portal.web.app import create_app
from tests.conftest import make_settings
from tests.support.spec import request_header_names, response_header_names


def preflight(client, origin: str, method: str = "POST", headers: str = "content-type"):
    return client.options(
        "/api/appointments",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def test_preflight_from_an_allowed_origin_gets_the_plans_options(client):
    response = preflight(client, "http://localhost:5173", headers="authorization,x-csrf-token")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Max-Age"] == "86400"
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"GET", "POST", "PUT", "DELETE", "OPTIONS"}
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"content-type", "authorization", "x-requested-with", "x-csrf-token"} <= allowed


def test_both_development_origins_are_allowed(client):
    for origin in ("http://localhost:5173", "http://localhost:3000"):
        response = client.get("/health", headers={"Origin": origin})
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert "Origin" in response.headers["Vary"]


def test_frontend_url_is_allowed(backend, services):
    settings = make_settings(
        backend.url, backend.storage_path, frontend_url="https://portal.example.com"
    )
    client = create_app(settings, services).test_client()
    response = client.get("/health", headers={"Origin": "https://portal.example.com"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://portal.example.com"


def test_a_disallowed_origin_gets_no_allow_origin(client):
    response = client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    refused = preflight(client, "https://evil.example.com")
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    error = refused.json()["error"]
    assert error["code"] == "AUTHORIZATION_ERROR"
    assert "origin" in error["message"]
    assert error["path"] == "/api/appointments"


def test_a_method_outside_the_list_is_refused(client):
    refused = preflight(client, "http://localhost:5173", method="PATCH")
    assert refused.status_code == 403
    assert "method" in refused.json()["error"]["message"]


def test_pagination_headers_are_exposed_and_errors_carry_cors_headers(client):
    # An error answered by the security scheme still lets the browser read it.
    response = client.get("/api/auth/me", headers={"Origin": "http://localhost:5173"})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Total-Count", "X-Page", "X-Per-Page"} <= exposed


def test_every_request_header_the_spec_declares_is_allowed(client):
    declared = request_header_names()
    assert {"X-Request-ID", "If-None-Match", "X-CSRF-Token"} <= declared
    response = preflight(client, "http://localhost:5173", headers=",".join(sorted(declared)))
    assert response.status_code == 200, response.text
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {name.lower() for name in declared} <= allowed


def test_every_response_header_the_spec_documents_is_exposed(client):
    documented = response_header_names()
    assert {"ETag", "Location", "Content-Disposition", "Retry-After", "X-Request-ID"} <= documented
    response = client.get("/health", headers={"Origin": "http://localhost:5173"})
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert documented <= exposed
    assert not any(name.lower().startswith("set-cookie") for name in exposed)
