"""Rate limits with flask-limiter, declared once and keyed by the spec's operationId.

- general: RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW_MS for each user (each address when
  anonymous), shared by every operation;
- login: RATE_LIMIT_AUTH_MAX per RATE_LIMIT_AUTH_WINDOW_MS per address and, separately, per email;
- password change: the same numbers, per address and per user (each attempt checks a password);
- bookings: RATE_LIMIT_BOOKING_MAX per RATE_LIMIT_BOOKING_WINDOW_MS per patient on
  createAppointment.

Counters live in memory (one process) or at RATE_LIMIT_STORAGE_URL (redis://..., shared by every
worker and host; `OneTripRedisStorage` below makes that one Redis round trip per limit). Every
limited response carries X-RateLimit-Limit/Remaining/Reset; only a 429 carries Retry-After.
/health, the published spec and Swagger UI are never limited (the last two are answered by
connexion before Flask, so they never reach the limiter).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import flask
import redis
from connexion import FlaskApp
from connexion import context as connexion_context
from connexion.resolver import Resolution, Resolver
from flask_limiter import ApplicationLimit, Limiter, RouteLimit
from limits.storage import RedisStorage
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from werkzeug.middleware.proxy_fix import ProxyFix

from kernel.settings import Settings
from models.accounts.rules import normalize_email
from portal.web.published_spec import SPEC_JSON_PATH, SPEC_YAML_PATH

logger = logging.getLogger("portal.limits")

LOGIN_OPERATION = "login"
PASSWORD_OPERATION = "changePassword"
BOOKING_OPERATION = "createAppointment"
# The health check and the published spec (Swagger UI never reaches Flask).
EXEMPT_PATHS = frozenset({"/health", SPEC_JSON_PATH, SPEC_YAML_PATH})


def _per(count: int, window_ms: int) -> str:
    return f"{count} per {max(1, window_ms // 1000)} second"


def _token_info() -> dict[str, Any] | None:
    try:
        token_info: dict[str, Any] | None = connexion_context.context.get("token_info")
    except RuntimeError:
        return None
    return token_info


def client_ip() -> str:
    """The caller's address; X-Forwarded-For only counts behind TRUSTED_PROXIES (ProxyFix)."""
    return flask.request.remote_addr or "unknown"


def user_or_ip() -> str:
    """Authenticated callers are limited per user, anonymous ones per address."""
    token_info = _token_info()
    if token_info and token_info.get("userId"):
        return f"user:{token_info['userId']}"
    return f"ip:{client_ip()}"


def login_email() -> str:
    body = flask.request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    if isinstance(email, str) and email.strip():
        return f"email:{normalize_email(email)}"
    return f"ip:{client_ip()}"


def _is_exempt_path() -> bool:
    return flask.request.path in EXEMPT_PATHS


def _closest_limit_headers(limiter: Limiter) -> Callable[[flask.Response], flask.Response]:
    """After flask-limiter's own headers: a response that was not refused describes the limit
    closest to exhaustion (flask-limiter picks the first of equal windows), and carries only
    its own Retry-After (a 503's): flask-limiter writes the window's on every limited response."""

    def adjust(response: flask.Response) -> flask.Response:
        if response.status_code == 429 or "X-RateLimit-Limit" not in response.headers:
            return response
        response.headers.pop("Retry-After", None)
        own = flask.g.get("own_retry_after")
        if own is not None:
            response.headers["Retry-After"] = own
        applied = limiter.current_limits
        if applied:
            closest = min(applied, key=lambda limit: limit.remaining)
            response.headers["X-RateLimit-Limit"] = str(closest.limit.amount)
            response.headers["X-RateLimit-Remaining"] = str(closest.remaining)
            response.headers["X-RateLimit-Reset"] = str(int(closest.reset_at))
        return response

    return adjust


def _remember_own_retry_after(response: flask.Response) -> flask.Response:
    """Before flask-limiter's header injection: the response's own Retry-After, if any."""
    flask.g.own_retry_after = response.headers.get("Retry-After")
    return response


class OneTripRedisStorage(RedisStorage):
    """limits' Redis storage with one round trip per limit and request instead of three.

    The fixed window increments a counter (one Lua call); flask-limiter then reads the counter
    and its TTL back for the X-RateLimit headers (two more calls, each a blocking round trip
    of the request's thread). Here the increment returns the TTL with the count and the request
    remembers both (in `flask.g`), so the headers are answered from what the increment saw:
    the counter right after this request's own hit. Reads of keys this request did not
    increment still go to Redis. Selected by `storage_uri_for` for redis:// and rediss:// URLs.
    """

    STORAGE_SCHEME = ["portal+redis", "portal+rediss"]
    SCRIPT_INCR_EXPIRE_TTL = """
        local amount = tonumber(ARGV[2])
        local current = redis.call("incrby", KEYS[1], amount)
        if tonumber(current) == amount then
            redis.call("expire", KEYS[1], ARGV[1])
        end
        return {current, redis.call("ttl", KEYS[1])}
    """

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri.removeprefix("portal+"), **options)

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        connection = self.get_connection()
        self.lua_incr_expire_ttl = connection.register_script(self.SCRIPT_INCR_EXPIRE_TTL.encode())
        # Loaded now, so no request pays a refused EVALSHA and a SCRIPT LOAD on a Redis that has
        # never run it (a new server, or one restarted since: the script cache is not kept).
        try:
            cast(redis.Redis, connection).script_load(self.SCRIPT_INCR_EXPIRE_TTL)
        except RedisError as exc:  # not answering yet: the first increment loads it
            logger.warning("rate limits: could not preload the Redis script: %s", exc)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        count, ttl = self.lua_incr_expire_ttl([self.prefixed_key(key)], [expiry, amount])
        _seen_this_request()[key] = (int(count), time.time() + max(int(ttl), 0))
        return int(count)

    def get(self, key: str) -> int:
        seen = _seen_this_request().get(key)
        return seen[0] if seen else super().get(key)

    def get_expiry(self, key: str) -> float:
        seen = _seen_this_request().get(key)
        return seen[1] if seen else super().get_expiry(key)


def _seen_this_request() -> dict[str, tuple[int, float]]:
    """Counter -> (count, expiry) as this request's increments left them; outside a request
    an empty dict that nobody keeps."""
    if not flask.has_app_context():
        return {}
    seen: dict[str, tuple[int, float]] = flask.g.setdefault("rate_limit_counters", {})
    return seen


def storage_uri_for(url: str) -> str:
    """RATE_LIMIT_STORAGE_URL as flask-limiter's storage URI: Redis through
    `OneTripRedisStorage`, anything else (memory://) as it is."""
    scheme = url.partition("://")[0]
    return f"portal+{url}" if scheme in ("redis", "rediss") else url


def storage_options_for(settings: Settings) -> dict[str, Any]:
    """The Redis client's bounds: a stalled Redis costs a request at most the timeout, once
    (redis-py would otherwise wait forever, and retry a timed-out call three times)."""
    if settings.shared_redis_url is None:
        return {}
    timeout = settings.rate_limit_storage_timeout_seconds
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }


@dataclass(frozen=True)
class RateLimit:
    """One declared limit: how many requests per window (flask-limiter's notation), counted
    per `key`, in counters of their own (`scope`); on one operation, or on all when None."""

    value: str
    key: Callable[[], str]
    scope: str
    operation: str | None = None


def rate_limits(settings: Settings) -> list[RateLimit]:
    """The limits (general, login, password change, bookings); each has its own scope, so their
    counters never mix."""
    auth = _per(settings.rate_limit_auth_max, settings.rate_limit_auth_window_ms)
    return [
        RateLimit(
            _per(settings.rate_limit_max_requests, settings.rate_limit_window_ms),
            user_or_ip,
            "general",
        ),
        RateLimit(auth, client_ip, "login-ip", LOGIN_OPERATION),
        RateLimit(auth, login_email, "login-email", LOGIN_OPERATION),
        RateLimit(auth, client_ip, "password-ip", PASSWORD_OPERATION),
        RateLimit(auth, user_or_ip, "password-user", PASSWORD_OPERATION),
        RateLimit(
            _per(settings.rate_limit_booking_max, settings.rate_limit_booking_window_ms),
            user_or_ip,
            "booking",
            BOOKING_OPERATION,
        ),
    ]


def build(settings: Settings) -> Limiter:
    """The limiter with the limits every operation shares; `install` attaches it to the app,
    `LimitedOperations` adds the limits of single operations to their handlers."""
    return Limiter(
        key_func=user_or_ip,
        application_limits=[
            ApplicationLimit(limit.value, key_function=limit.key, scope=limit.scope)
            for limit in rate_limits(settings)
            if limit.operation is None
        ],
        headers_enabled=True,
        retry_after="delta-seconds",
        storage_uri=storage_uri_for(settings.rate_limit_storage_url),
        storage_options=storage_options_for(settings),
        # The policy when Redis does not answer within RATE_LIMIT_STORAGE_TIMEOUT_SECONDS
        # (docs/security.md): each process goes on with the same limits counted in its own
        # memory (flask-limiter logs one warning), and asks Redis again after 1, 2, 4 ... 32 s;
        # rather than refusing every request, or serving them unlimited.
        in_memory_fallback_enabled=True,
        strategy="fixed-window",
        enabled=settings.rate_limit_enabled,
        key_prefix=settings.rate_limit_key_prefix,
    )


class LimitedOperations(Resolver):
    """Resolves handlers as `inner` does, and wraps the handler of each operation that has
    limits of its own with them (flask-limiter's route limits), outermost: a refused request
    runs nothing of the handler. Every other request evaluates only the shared limits, instead
    of evaluating and exempting each operation's."""

    def __init__(self, inner: Resolver, limiter: Limiter, settings: Settings) -> None:
        super().__init__(function_resolver=inner.function_resolver)
        self.inner = inner
        self.by_operation: dict[str, list[RouteLimit]] = {}
        for limit in rate_limits(settings):
            if limit.operation is not None:
                route_limit = RouteLimit(
                    limit.value,
                    key_function=limit.key,
                    scope=limit.scope,
                    shared=True,  # counted under the scope alone, as the shared limits are
                    limiter=limiter,
                )
                self.by_operation.setdefault(limit.operation, []).append(route_limit)

    def resolve(self, operation: Any) -> Resolution:
        resolution = self.inner.resolve(operation)
        for route_limit in self.by_operation.get(operation.operation_id, ()):
            resolution.function = route_limit(resolution.function)
        return resolution


def install(app: FlaskApp, limiter: Limiter, settings: Settings) -> None:
    if settings.trusted_proxies:
        # Only behind known proxies may X-Forwarded-For name the client.
        app.add_wsgi_middleware(ProxyFix, x_for=settings.trusted_proxies, x_proto=1)
    flask_app = app.app
    limiter.init_app(flask_app)
    limiter.request_filter(_is_exempt_path)
    # Flask runs after-request hooks last-registered-first: put this one first in the list so it
    # runs after flask-limiter's header injection.
    hooks = flask_app.after_request_funcs.setdefault(None, [])
    hooks.insert(0, _closest_limit_headers(limiter))
    hooks.append(_remember_own_retry_after)  # runs first, before flask-limiter's
