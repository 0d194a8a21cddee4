"""Redis connections the request path may wait on: each call bounded by `timeout`, never retried
on a timeout (a stalled Redis costs one bound, not several)."""

from __future__ import annotations

import redis


def bounded_redis(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
    )
