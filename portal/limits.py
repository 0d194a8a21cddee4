"""Rate limits (plan 7.2) with flask-limiter.

General per user (per IP when anonymous), login per IP and per email. Numbers come from the
settings; counters live in memory or at RATE_LIMIT_STORAGE_URL.
"""

from __future__ import annotations

import flask
from connexion.context import context
from flask_limiter import Limiter
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.settings import Settings

LOGIN_ENDPOINT_SUFFIX = "login"


def _per(count: int, window_ms: int) -> str:
    return f"{count} per {max(1, window_ms // 1000)} second"


def client_ip() -> str:
    return flask.request.remote_addr or "unknown"


def user_or_ip() -> str:
    """Authenticated callers are limited per user, anonymous ones per address."""
    token_info = context.get("token_info") if context else None
    if token_info and token_info.get("userId"):
        return f"user:{token_info['userId']}"
    return f"ip:{client_ip()}"


def login_email() -> str:
    body = flask.request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"email:{str(email).strip().lower()}" if email else f"ip:{client_ip()}"


def install(app: flask.Flask, settings: Settings) -> Limiter:
    if settings.trusted_proxies:
        # Only behind known proxies may X-Forwarded-For name the client.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    limiter = Limiter(
        key_func=user_or_ip,
        app=app,
        default_limits=[_per(settings.rate_limit_max_requests, settings.rate_limit_window_ms)],
        headers_enabled=True,
        storage_uri=settings.rate_limit_storage_url,
        strategy="fixed-window",
        enabled=settings.rate_limit_enabled,
        key_prefix="portal",
    )
    auth_limit = _per(settings.rate_limit_auth_max, settings.rate_limit_auth_window_ms)
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.endswith(LOGIN_ENDPOINT_SUFFIX):
            view = limiter.limit(auth_limit, key_func=client_ip)(view)
            view = limiter.limit(auth_limit, key_func=login_email)(view)
            app.view_functions[endpoint] = view
    return limiter
