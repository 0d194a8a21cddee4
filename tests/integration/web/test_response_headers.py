"""Headers every response carries: security headers, X-Request-ID, Cache-Control."""

from __future__ import annotations

import logging

import pytest

from portal.web.app import create_app
from tests.conftest import make_settings

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/api/auth/me", 401),  # refused by the security scheme
        ("GET", "/api/nowhere", 404),  # refused by the router
        ("POST", "/api/auth/login", 400),  # refused by validation
    ],
)
def test_every_response_has_the_security_headers_and_is_not_cached(client, method, path, status):
    response = client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


def test_sessions_and_user_data_are_never_cached(client, auth):
    me = client.get("/api/auth/me", headers=auth("patient1@example.com"))
    assert me.status_code == 200
    assert me.headers["Cache-Control"] == "no-store"


def test_swagger_ui_gets_a_policy_that_lets_it_run(client):
    response = client.get("/api/ui/")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_hsts_is_sent_over_https_only(client):
    response = client.get("https://testserver/health")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_forwarded_https_counts_only_behind_trusted_proxies(client, backend, services):
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "Strict-Transport-Security" not in client.get("/health", headers=forwarded).headers
    settings = make_settings(backend.url, backend.storage_path, trusted_proxies=1)
    proxied = create_app(settings, services).test_client()
    assert "Strict-Transport-Security" in proxied.get("/health", headers=forwarded).headers


def test_a_well_formed_request_id_is_echoed_in_headers_errors_and_logs(client, caplog):
    caplog.set_level(logging.INFO, logger="portal.request")
    response = client.get("/api/auth/me", headers={"X-Request-ID": "abc-123.DEF:9"})
    assert response.headers["X-Request-ID"] == "abc-123.DEF:9"
    assert response.json()["error"]["requestId"] == "abc-123.DEF:9"
    lines = [r for r in caplog.records if r.name == "portal.request"]
    assert len(lines) == 1  # one line per request
    assert lines[0].request_id == lines[0].requestId == "abc-123.DEF:9"
    assert (lines[0].method, lines[0].path, lines[0].status) == ("GET", "/api/auth/me", 401)


@pytest.mark.parametrize("given", [None, "", "has spaces", "x" * 65, "<script>"])
def test_a_missing_or_malformed_request_id_is_replaced(client, given):
    headers = {} if given is None else {"X-Request-ID": given}
    response = client.get("/health", headers=headers)
    generated = response.headers["X-Request-ID"]
    assert generated != given
    assert len(generated) == 32
    assert client.get("/health").headers["X-Request-ID"] != generated
