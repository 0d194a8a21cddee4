"""The cross-cutting security rules as plain functions: CSRF scope, Cache-Control table, CORS
origins, security headers, rate-limit settings and the idle-session rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kernel.settings import load_settings
from models.accounts.tables import RefreshToken
from portal.web import limits
from security.cors import allowed_origins
from security.csrf import csrf_required
from security.headers import cache_control, security_headers
from security.sessions import SessionPolicy
from security.tokens import TokenService

SECRET = "unit-test-secret-that-is-long-enough-0123456789"


@pytest.mark.parametrize(
    ("method", "path", "operation_id", "required"),
    [
        ("POST", "/api/appointments", "createAppointment", True),
        ("PUT", "/api/appointments/x/reschedule", "rescheduleAppointment", True),
        ("DELETE", "/api/appointments/x/cancel", "cancelAppointment", True),
        ("post", "/api/auth/logout", "logout", True),
        ("POST", "/api/nowhere", None, True),  # unknown operations fail closed
        ("POST", "/api/auth/login", "login", False),
        ("POST", "/api/auth/refresh", "refresh", False),
        ("GET", "/api/appointments", "listAppointments", False),
        ("OPTIONS", "/api/appointments", None, False),
        ("POST", "/health", "getHealth", False),
    ],
)
def test_csrf_scope(method, path, operation_id, required):
    assert csrf_required(method, path, operation_id) is required


@pytest.mark.parametrize(
    ("operation_id", "status", "expected"),
    [
        ("listAppointments", 200, "no-store"),
        ("getAppointment", 200, "no-store"),
        ("listMedicalRecords", 200, "no-store"),
        ("downloadAttachment", 200, "no-store"),
        ("login", 200, "no-store"),
        ("searchProviders", 200, "public, max-age=300"),
        ("searchProviders", 304, "public, max-age=300"),
        ("getAvailableSlots", 200, "private, max-age=60"),
        ("getAvailableSlots", 404, "no-store"),
        (None, 404, "no-store"),
    ],
)
def test_cache_control_follows_the_plans_table(operation_id, status, expected):
    assert cache_control(operation_id, status) == expected


def test_security_headers():
    json_headers = security_headers("application/json", https=False)
    assert json_headers["X-Content-Type-Options"] == "nosniff"
    assert json_headers["X-Frame-Options"] == "DENY"
    assert json_headers["Referrer-Policy"] == "no-referrer"
    assert json_headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Strict-Transport-Security" not in json_headers
    assert "Strict-Transport-Security" in security_headers(None, https=True)
    html_policy = security_headers("text/html; charset=utf-8", https=False)
    assert "script-src 'self'" in html_policy["Content-Security-Policy"]


def test_cors_origins_are_the_plans_plus_frontend_url():
    settings = load_settings(frontend_url="https://portal.example.com/")
    assert allowed_origins(settings) == [
        "http://localhost:5173",
        "http://localhost:3000",
        "https://portal.example.com",
    ]
    assert allowed_origins(load_settings(frontend_url="http://localhost:5173")) == [
        "http://localhost:5173",
        "http://localhost:3000",
    ]


def test_rate_limit_defaults_are_the_plans():
    # outside development (whose limits are larger: tests/unit/kernel/test_settings.py)
    settings = load_settings(app_env="test", jwt_secret="x" * 40, storage_encryption_key="00" * 32)
    texts = [limit.value for limit in limits.rate_limits(settings)]
    assert texts == [
        "100 per 900 second",
        "5 per 900 second",  # login, per address and per email
        "5 per 900 second",
        "5 per 900 second",  # password change, per address and per user
        "5 per 900 second",
        "10 per 3600 second",
    ]
    assert settings.rate_limit_storage_url == "memory://"
    assert settings.trusted_proxies == 0


def test_rate_limits_come_from_the_environment(monkeypatch):
    for name, value in {
        "RATE_LIMIT_WINDOW_MS": "60000",
        "RATE_LIMIT_MAX_REQUESTS": "7",
        "RATE_LIMIT_AUTH_WINDOW_MS": "120000",
        "RATE_LIMIT_AUTH_MAX": "2",
        "RATE_LIMIT_BOOKING_WINDOW_MS": "7200000",
        "RATE_LIMIT_BOOKING_MAX": "3",
        "RATE_LIMIT_STORAGE_URL": "redis://127.0.0.1:6379/1",
        "TRUSTED_PROXIES": "2",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    texts = [limit.value for limit in limits.rate_limits(settings)]
    assert texts == ["7 per 60 second"] + ["2 per 120 second"] * 4 + ["3 per 7200 second"]
    assert settings.rate_limit_storage_url == "redis://127.0.0.1:6379/1"
    assert settings.trusted_proxies == 2


def test_a_session_is_idle_only_after_its_access_token_expired_plus_the_timeout():
    policy = SessionPolicy(
        TokenService(SECRET, timedelta(minutes=15)),
        refresh_ttl=timedelta(days=7),
        idle_timeout=timedelta(minutes=15),
    )
    issued = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    token = RefreshToken(created_at=issued)
    assert not policy.is_idle(token, issued + timedelta(minutes=29, seconds=59))
    assert policy.is_idle(token, issued + timedelta(minutes=30))
    never = SessionPolicy(policy.tokens, refresh_ttl=timedelta(days=7))
    assert not never.is_idle(token, issued + timedelta(days=6))


def test_no_token_of_a_session_outlives_its_maximum_lifetime():
    policy = SessionPolicy(
        TokenService(SECRET, timedelta(minutes=15)),
        refresh_ttl=timedelta(days=7),
        max_lifetime=timedelta(hours=12),
    )
    started = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    end = started + timedelta(hours=12)
    early = started + timedelta(hours=1)
    assert policy.refresh_expiry(started, early) == end  # not 7 days
    assert policy.access_expiry(started, early) == early + timedelta(minutes=15)
    late = end - timedelta(minutes=5)
    assert policy.access_expiry(started, late) == end  # 5 minutes, not 15
    token = RefreshToken(created_at=late, session_started_at=started)
    assert not policy.has_outlived(token, end - timedelta(seconds=1))
    assert policy.has_outlived(token, end)
    unbounded = SessionPolicy(policy.tokens, refresh_ttl=timedelta(days=7))
    assert not unbounded.has_outlived(token, started + timedelta(days=6))
    assert unbounded.refresh_expiry(started, late) == late + timedelta(days=7)
