"""Read-your-writes fences (`kernel.replica.WriteFences`) shared by every worker through Redis:
one `<prefix>:write-fence:<user id>` key per user who wrote recently, holding the primary's
binlog position after that write, expiring on its own."""

from __future__ import annotations

import redis
from redis.exceptions import RedisError

from kernel.redis_client import bounded_redis
from kernel.replica import FenceUnknown, LocalFences


class RedisFences:
    """Fences in Redis; this process's own also in memory, so its next read needs no GET to
    find them when Redis fails in between."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.local = LocalFences()

    @classmethod
    def from_url(cls, url: str, prefix: str, timeout: float) -> RedisFences:
        return cls(bounded_redis(url, timeout), prefix)

    def key(self, user_id: str) -> str:
        return f"{self.prefix}:write-fence:{user_id}"

    def remember(self, user_id: str, position: str, ttl: float) -> None:
        self.local.remember(user_id, position, ttl)
        try:
            self.client.set(self.key(user_id), position.encode(), ex=max(1, int(ttl)))
        except RedisError as exc:
            raise FenceUnknown(str(exc)) from exc

    def position(self, user_id: str) -> str | None:
        try:
            value = self.client.get(self.key(user_id))
        except RedisError as exc:
            raise FenceUnknown(str(exc)) from exc
        if value is None:
            return self.local.position(user_id)
        return bytes(value).decode()  # type: ignore[arg-type]
