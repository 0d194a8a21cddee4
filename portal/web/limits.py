"""Rate limits with flask-limiter, declared once and keyed by the spec's operationId.

- general: RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW_MS for each user (each address when
  anonymous), shared by every operation;
- login: RATE_LIMIT_AUTH_MAX per RATE_LIMIT_AUTH_WINDOW_MS per address and, separately, per email;
- password change: the same numbers, per address and per user (each attempt checks a password);
- bookings: RATE_LIMIT_BOOKING_MAX per RATE_LIMIT_BOOKING_WINDOW_MS per patient on
  createAppointment.

Counters live in memory (one process) or at RATE_LIMIT_STORAGE_URL (redis://..., shared by every
worker and host; `OneTripRedisStorage` below makes that at most one Redis round trip per limit,
and the general limit's counts reserved in blocks, none for most requests). Every
limited response carries X-RateLimit-Limit/Remaining/Reset; only a 429 carries Retry-After.
/health, the published spec and Swagger UI are never limited (the last two are answered by
connexion before Flask, so they never reach the limiter).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
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
# The limit every operation shares: counted in blocks on Redis (`OneTripRedisStorage`); the
# operations' own limits are counted exactly, one increment per request.
GENERAL_SCOPE = "general"
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
        # One limit (most requests: the general one alone) is the one flask-limiter described.
        if len(applied) > 1:
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


# The general limit's counters are reserved from Redis in blocks (`OneTripRedisStorage`): a
# block is at most this many counts, and at most 1/BLOCK_SHARE of the room left under the limit.
MAX_BLOCK = 32
BLOCK_SHARE = 64
# Past this many counters with a block, this process forgets them all (bounded memory; the
# counts they held are lost, which can only refuse a client early, never admit one late).
MAX_BLOCKS_KEPT = 50_000


@dataclass
class _Block:
    """Counts of one counter this process reserved and has not handed out yet (`ranges` of
    first..last, several when requests reserved at the same time), valid until `expires_at`;
    `seen` is the highest count Redis returned."""

    ranges: list[list[int]]
    expires_at: float
    seen: int

    def take(self) -> int | None:
        while self.ranges:
            first, last = self.ranges[0]
            if first <= last:
                self.ranges[0][0] = first + 1
                return first
            self.ranges.pop(0)
        return None


def block_size(limit: int, seen: int) -> int:
    """How many counts to reserve at once when this process last saw the counter at `seen`:
    1 (an exact count per request) unless the room left is many times the block."""
    return max(1, min(MAX_BLOCK, (limit - seen) // BLOCK_SHARE))


def _scope_and_limit(key: str) -> tuple[str, int]:
    """limits' key `LIMITER/<prefix>/<client>/<scope>/<amount>/<multiples>/<granularity>`."""
    parts = key.rsplit("/", 4)
    return (parts[1], int(parts[2])) if len(parts) == 5 and parts[2].isdigit() else ("", 0)


class OneTripRedisStorage(RedisStorage):
    """limits' Redis storage with at most one round trip per limit and request instead of three.

    The fixed window increments a counter (one Lua call); flask-limiter then reads the counter
    and its TTL back for the X-RateLimit headers (two more calls, each a blocking round trip
    of the request's thread). Here the increment returns the TTL with the count and the request
    remembers both (in `flask.g`), so the headers are answered from what the increment saw:
    the counter right after this request's own hit. Reads of keys this request did not
    increment still go to Redis. Selected by `storage_uri_for` for redis:// and rediss:// URLs.

    The counters of the scopes in `block_scopes` (the general limit) are reserved in blocks:
    one increment by `block_size` counts, handed out one per request by this process, so
    requests after the first of a block ask no Redis. Every count is still a distinct place
    in the shared counter, so no process admits a request past the limit; a block not used up
    when the window ends or the limit is reached was counted for nothing, which can refuse a
    client early by at most (processes - 1) x (MAX_BLOCK - 1) requests of a window, and by
    none while the limit is under BLOCK_SHARE x 2 (block_size is then 1: exact).
    """

    STORAGE_SCHEME = ["portal+redis", "portal+rediss"]
    SCRIPT_INCR_EXPIRE_TTL = """
        local amount = tonumber(ARGV[2])
        local current = redis.call("incrby", KEYS[1], amount)
        if tonumber(current) == amount then
            redis.call("expire", KEYS[1], ARGV[1])
        end
        return {current, redis.call("pttl", KEYS[1])}
    """

    def __init__(self, uri: str, block_scopes: Iterable[str] = (), **options: Any) -> None:
        self.block_scopes = frozenset(block_scopes)
        self._blocks: dict[str, _Block] = {}
        self._blocks_lock = threading.Lock()
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
        scope, limit = _scope_and_limit(key) if self.block_scopes else ("", 0)
        if amount != 1 or scope not in self.block_scopes:
            count, expires_at = self._increment(key, expiry, amount)
            _seen_this_request()[key] = (count, expires_at)
            return count
        with self._blocks_lock:
            block = self._blocks.get(key)
            if block is not None and time.time() >= block.expires_at:
                block = None
            taken = block.take() if block is not None else None
            if block is not None and taken is not None:
                _seen_this_request()[key] = (taken, block.expires_at)
                return taken
        size = block_size(limit, block.seen if block is not None else 0)
        last, expires_at = self._increment(key, expiry, size)
        count = last - size + 1
        with self._blocks_lock:
            current = self._blocks.get(key)
            if current is not None and time.time() < current.expires_at:
                # Still in its window, so the increment just made was in the same one: keep
                # both reservations (none is lost to requests that reserved at the same time).
                current.ranges.append([count + 1, last])
                current.seen = max(current.seen, last)
            else:
                if len(self._blocks) >= MAX_BLOCKS_KEPT:
                    self._blocks.clear()
                self._blocks[key] = _Block([[count + 1, last]], expires_at, last)
        _seen_this_request()[key] = (count, expires_at)
        return count

    def _increment(self, key: str, expiry: int, amount: int) -> tuple[int, float]:
        """The counter after adding `amount`, and when its window ends (from before the call:
        a block is never handed out after Redis has started the next window)."""
        asked_at = time.time()
        count, pttl = self.lua_incr_expire_ttl([self.prefixed_key(key)], [expiry, amount])
        return int(count), asked_at + max(int(pttl), 0) / 1000

    def get(self, key: str) -> int:
        seen = _seen_this_request().get(key)
        return seen[0] if seen else super().get(key)

    def get_expiry(self, key: str) -> float:
        seen = _seen_this_request().get(key)
        return seen[1] if seen else super().get_expiry(key)

    def clear(self, key: str) -> None:
        with self._blocks_lock:
            self._blocks.pop(key, None)
        super().clear(key)

    def reset(self) -> int | None:
        with self._blocks_lock:
            self._blocks.clear()
        return super().reset()


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
    """The general limit counted in blocks, and the Redis client's bounds: a stalled Redis
    costs a request at most the timeout, once
    (redis-py would otherwise wait forever, and retry a timed-out call three times)."""
    if settings.shared_redis_url is None:
        return {}
    timeout = settings.rate_limit_storage_timeout_seconds
    return {
        "block_scopes": [GENERAL_SCOPE],
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
            GENERAL_SCOPE,
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
