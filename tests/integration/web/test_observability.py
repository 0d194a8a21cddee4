"""GET /metrics (protected) and the per-request log line, through HTTP."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest
import sqlalchemy as sa

from adapters.query_metrics import instrument_engine
from portal.runtime import Services
from portal.web.app import create_app

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def metrics_client(services: Services):  # type: ignore[no-untyped-def]
    """An app of the same database whose METRICS_TOKEN is set."""
    settings = services.settings.model_copy(update={"metrics_token": METRICS_TOKEN})
    with_token = dataclasses.replace(services, settings=settings)
    return create_app(settings, with_token).test_client()


def count_of(text: str, operation: str, status: str) -> float:
    pattern = (
        r"^portal_http_request_duration_seconds_count\{method=\"GET\","
        rf"operation=\"{operation}\",status=\"{status}\"\}} (\S+)$"
    )
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_are_off_without_a_token_configured(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_metrics_need_the_metrics_token(metrics_client, auth) -> None:  # type: ignore[no-untyped-def]
    assert metrics_client.get("/metrics").status_code == 401
    wrong = metrics_client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    # a user's valid JWT is not the metrics token
    as_admin = metrics_client.get("/metrics", headers=auth("admin@example.com"))
    assert as_admin.status_code == 401


def test_metrics_count_requests_per_operation_and_status(metrics_client, auth) -> None:  # type: ignore[no-untyped-def]
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    before = metrics_client.get("/metrics", headers=bearer).text
    assert (
        metrics_client.get("/api/auth/me", headers=auth("patient1@example.com")).status_code == 200
    )
    assert metrics_client.get("/api/auth/me").status_code == 401

    response = metrics_client.get("/metrics", headers=bearer)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    assert count_of(text, "getCurrentUser", "200") == count_of(before, "getCurrentUser", "200") + 1
    assert count_of(text, "getCurrentUser", "401") == count_of(before, "getCurrentUser", "401") + 1
    assert re.search(
        r'^portal_http_errors_total\{method="GET",operation="getCurrentUser",status="401"\} ',
        text,
        re.M,
    )
    assert re.search(
        r'^portal_db_query_duration_seconds_count\{database="primary",kind="SELECT"\} ', text, re.M
    )


def test_one_json_ready_log_line_per_request(client, auth, caplog) -> None:  # type: ignore[no-untyped-def]
    headers = auth("patient1@example.com")
    user_id = auth.user("patient1@example.com").id
    with caplog.at_level(logging.INFO, logger="portal.request"):
        response = client.get("/api/auth/me", headers={**headers, "X-Request-ID": "trace-me-1"})
    assert response.status_code == 200
    (line,) = [r for r in caplog.records if r.name == "portal.request"]
    assert (line.requestId, line.userId, line.operationId, line.status) == (
        "trace-me-1",
        user_id,
        "getCurrentUser",
        200,
    )
    assert line.method == "GET" and line.path == "/api/auth/me"
    assert line.durationMs > 0


def test_authentication_failures_are_the_request_line_as_a_warning(client, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.INFO):
        response = client.get("/api/auth/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401
    (line,) = [r for r in caplog.records if r.name.startswith(("portal", "connexion"))]
    assert line.name == "portal.request"
    assert line.levelno == logging.WARNING
    assert (line.operationId, line.status) == ("getCurrentUser", 401)
    assert line.requestId == response.headers["x-request-id"]
    assert line.client and line.error


def test_a_wrong_password_is_an_authentication_failure_in_the_log(client, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.INFO):
        response = client.post(
            "/api/auth/login", json={"email": "patient1@example.com", "password": "wrong-password"}
        )
    assert response.status_code == 401
    (failure,) = [r for r in caplog.records if r.name == "portal.request"]
    assert failure.levelno == logging.WARNING and failure.operationId == "login"
    assert "patient1" not in str(vars(failure))  # no email in the log


def test_a_refusal_says_why_on_its_one_line(client, auth, caplog) -> None:  # type: ignore[no-untyped-def]
    headers = auth("patient1@example.com")
    with caplog.at_level(logging.INFO):
        response = client.get(
            "/api/appointments/00000000-0000-4000-8000-000000000000", headers=headers
        )
    assert response.status_code == 404
    (line,) = [r for r in caplog.records if r.name.startswith(("portal", "connexion"))]
    assert (line.name, line.status) == ("portal.request", 404)
    assert line.error == response.json()["error"]["message"]


def test_slow_queries_are_logged_without_parameters(caplog) -> None:  # type: ignore[no-untyped-def]
    engine = sa.create_engine("sqlite://")
    instrument_engine(engine, "primary", slow_seconds=0.0)  # every statement counts as slow
    with (
        caplog.at_level(logging.WARNING, logger="kernel.database.slow"),
        engine.connect() as connection,
    ):
        connection.execute(sa.text("SELECT :secret AS x"), {"secret": "Jane Doe, MRN 12345"})
    engine.dispose()
    (entry,) = caplog.records
    assert entry.statement == "SELECT ? AS x"
    assert "Jane Doe" not in str(vars(entry))


def _sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_booking_outcomes_and_search_result_counts_are_recorded(metrics_client, auth) -> None:  # type: ignore[no-untyped-def]
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    patient = auth("patient1@example.com")
    before = metrics_client.get("/metrics", headers=bearer).text
    search = metrics_client.post("/api/appointments/search-providers", json={}, headers=patient)
    assert search.status_code == 200
    refused = metrics_client.post(
        "/api/appointments",
        headers=patient,
        json={
            "providerId": search.json()["data"][0]["id"],
            "date": "2020-01-06",
            "time": "10:00 AM",
            "type": "routine_checkup",
            "reason": "A reason that is long enough",
        },
    )
    assert refused.status_code == 400
    after = metrics_client.get("/metrics", headers=bearer).text
    rejected = 'portal_booking_outcomes_total{outcome="rejected"}'
    assert _sample(after, rejected) == _sample(before, rejected) + 1
    searches = "portal_provider_search_results_count"
    assert _sample(after, searches) == _sample(before, searches) + 1
