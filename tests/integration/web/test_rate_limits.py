"""Rate limits: general per user, login per address and per email, bookings per patient;
429 in the standard format with Retry-After and X-RateLimit-*; TRUSTED_PROXIES."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from kernel.clock import utcnow
from portal.web.app import create_app
from tests.conftest import make_settings
from tests.support.stub_handlers import app_with_stub_handlers

SOON = (utcnow() + timedelta(days=7)).date().isoformat()
BOOKING = {
    "providerId": "00000000-0000-4000-8000-000000000000",
    "date": SOON,  # a date relative to today: "in the past" never decides these tests
    "time": "10:00 AM",
    "type": "routine_checkup",
    "reason": "Annual physical examination",
}


@pytest.fixture
def limited(backend, services) -> Callable[..., Any]:
    """`limited(rate_limit_auth_max=2, ...)` -> a test client of an app with the limiter on."""

    def build(**overrides: Any):
        settings = make_settings(
            backend.url, backend.storage_path, rate_limit_enabled=True, **overrides
        )
        return create_app(settings, services).test_client()

    return build


def wrong_login(client, email: str, **headers: str):
    return client.post(
        "/api/auth/login", json={"email": email, "password": "not-the-password"}, headers=headers
    )


def assert_limited(response, limit: int, window_seconds: int = 15 * 60) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED"
    assert error["message"] == "Too many requests, please try again later"
    assert 0 < int(response.headers["Retry-After"]) <= window_seconds
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > 0


def test_login_is_limited_per_address(limited):
    client = limited(rate_limit_auth_max=3)
    for n in range(3):
        assert wrong_login(client, f"nobody{n}@example.com").status_code == 401
    assert_limited(wrong_login(client, "someone-else@example.com"), 3)


def test_login_is_limited_per_email_across_addresses(limited):
    client = limited(rate_limit_auth_max=3, trusted_proxies=1)
    for n in range(3):
        response = wrong_login(client, "patient1@example.com", **{"X-Forwarded-For": f"10.0.0.{n}"})
        assert response.status_code == 401
    blocked = wrong_login(client, "Patient1@Example.com", **{"X-Forwarded-For": "10.0.0.99"})
    assert_limited(blocked, 3)
    # Another email from another address is untouched.
    other = wrong_login(client, "patient2@example.com", **{"X-Forwarded-For": "10.0.0.98"})
    assert other.status_code == 401


def test_forwarded_for_is_ignored_without_trusted_proxies(limited):
    client = limited(rate_limit_auth_max=2)
    for n in range(2):
        response = wrong_login(client, f"a{n}@example.com", **{"X-Forwarded-For": f"10.1.0.{n}"})
        assert response.status_code == 401
    spoofed = wrong_login(client, "b@example.com", **{"X-Forwarded-For": "10.1.0.200"})
    assert_limited(spoofed, 2)


def test_general_limit_is_per_user_and_shared_by_every_operation(limited, auth):
    client = limited(rate_limit_max_requests=4)
    patient1, patient2 = auth("patient1@example.com"), auth("patient2@example.com")
    answers = [
        client.get("/api/auth/me", headers=patient1),
        client.get("/api/auth/csrf-token", headers=patient1),
        client.get("/api/auth/me", headers=patient1),
        client.get("/api/auth/csrf-token", headers=patient1),
    ]
    assert [r.status_code for r in answers] == [200] * 4
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["3", "2", "1", "0"]
    for response in answers:
        assert response.headers["X-RateLimit-Limit"] == "4"
        assert "Retry-After" not in response.headers
    assert_limited(client.get("/api/auth/me", headers=patient1), 4)
    assert client.get("/api/auth/me", headers=patient2).status_code == 200


def test_bookings_are_limited_per_patient_on_create_appointment_only(backend, services, auth):
    settings = make_settings(
        backend.url, backend.storage_path, rate_limit_enabled=True, rate_limit_booking_max=2
    )
    with app_with_stub_handlers(settings, services) as app:
        client = app.test_client()
        patient1, patient2 = auth("patient1@example.com"), auth("patient2@example.com")
        # A provider that does not exist: 404, whether from the real handler or the stub.
        for _ in range(2):
            assert (
                client.post("/api/appointments", json=BOOKING, headers=patient1).status_code == 404
            )
        assert_limited(client.post("/api/appointments", json=BOOKING, headers=patient1), 2, 3600)
        assert client.post("/api/appointments", json=BOOKING, headers=patient2).status_code == 404
        # Other operations of the same patient are not counted against bookings.
        assert client.get("/api/auth/me", headers=patient1).status_code == 200


def test_health_and_the_spec_are_never_limited(limited):
    client = limited(rate_limit_max_requests=1)
    for _ in range(3):
        health = client.get("/health")
        assert health.status_code == 200
        assert "X-RateLimit-Limit" not in health.headers
        assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/api/ui/").status_code == 200


def test_limits_are_off_when_disabled(client):
    for n in range(8):
        assert wrong_login(client, f"off{n}@example.com").status_code == 401


def test_an_unreachable_redis_falls_back_to_per_process_counters(limited):
    client = limited(rate_limit_auth_max=2, rate_limit_storage_url="redis://127.0.0.1:1/0")
    for n in range(2):
        assert wrong_login(client, f"fallback{n}@example.com").status_code == 401
    assert_limited(wrong_login(client, "fallback9@example.com"), 2)
