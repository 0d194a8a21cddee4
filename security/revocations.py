"""Ended sessions, for the bearer check: an access token of a revoked session stops at once.

The database holds the durable record (a session's refresh tokens carry `revoked_at`); this
module makes it fast to ask. Three places answer, nearest first:

1. this process's set of sessions it knows to be revoked (it revoked them, or was told): no I/O;
2. with a shared Redis, one key per revoked session whose TTL is the access-token lifetime
   (an access token outlives its session's revocation by at most that), and every revocation
   published on a channel each process subscribes to (`RedisRevocationFeed`). While this
   process's subscription is trusted (subscribed, the database's recent revocations read after
   it, a PING answered within `FEED_STALE_SECONDS`), a check reads what the subscription has
   received without waiting, and answers from (1): no round trip. Otherwise one EXISTS, unless
   a "not revoked" answer of the last `cache_seconds` is still fresh;
3. the database, while Redis does not answer within `timeout` (retried after
   `retry_after_seconds`); when the database fails too, the error propagates and the request
   fails: the check never lets a token through unasked.

Without Redis, (1) runs, and every `poll_seconds` one request of each process reads the
sessions the database revoked within the last access-token lifetime into (1): exact for one
server process (the default), and a revocation reaches the other processes within
`poll_seconds`. docs/security.md states the rule and its cost.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

import redis
from redis.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from kernel.episodes import FailureEpisodes
from kernel.redis_client import bounded_redis

logger = logging.getLogger("portal.sessions")

# Past this many "not revoked" answers, the cache starts again empty (bounded memory).
MAX_CACHED_ANSWERS = 100_000
# The subscription is trusted while Redis answered a PING sent at most this long ago; a check
# sends the next PING once the last was sent FEED_PING_SECONDS ago.
FEED_PING_SECONDS = 1.0
FEED_STALE_SECONDS = 2 * FEED_PING_SECONDS


class SharedRevocations(Protocol):
    """The store every worker shares (Redis)."""

    def add(self, session_ids: Iterable[str], ttl: timedelta) -> None: ...
    def contains(self, session_id: str) -> bool: ...


class RevocationFeed(Protocol):
    """This process's subscription to the revocations every process publishes."""

    @property
    def is_open(self) -> bool: ...
    def subscribe(self) -> None: ...
    def drain(self) -> tuple[list[str], bool]: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class RedisRevocations:
    """Revoked sessions as `<prefix>:revoked-session:<id>` keys that expire on their own."""

    client: redis.Redis
    prefix: str

    @classmethod
    def from_url(cls, url: str, prefix: str, timeout: float) -> RedisRevocations:
        return cls(bounded_redis(url, timeout), prefix)

    def key(self, session_id: str) -> str:
        return f"{self.prefix}:revoked-session:{session_id}"

    @property
    def channel(self) -> str:
        return f"{self.prefix}:revoked-sessions"

    def add(self, session_ids: Iterable[str], ttl: timedelta) -> None:
        """The keys, then one message to every subscribed process (ids separated by spaces)."""
        ids = list(session_ids)
        seconds = max(1, int(ttl.total_seconds()) + 1)
        pipeline = self.client.pipeline(transaction=False)
        for session_id in ids:
            pipeline.set(self.key(session_id), b"1", ex=seconds)
        pipeline.publish(self.channel, " ".join(ids).encode())
        pipeline.execute()

    def contains(self, session_id: str) -> bool:
        return bool(self.client.exists(self.key(session_id)))


class RedisRevocationFeed:
    """A subscription to `RedisRevocations.channel` on a connection of its own.

    `drain` never waits: it reads only what has already arrived, and says whether the
    subscription is fresh (Redis answered a PING sent within FEED_STALE_SECONDS). When the
    socket has nothing new and no PING is due, it answers from one poll of the socket without
    going through redis-py. Any error closes it; `subscribe` opens it again. One thread at a
    time reads it; a check that finds it busy asks Redis instead."""

    def __init__(self, client: redis.Redis, channel: str, clock: Callable[[], float]) -> None:
        self.client = client
        self.channel = channel
        self.clock = clock
        self._pubsub: PubSub | None = None
        self._ping_sent_at: float | None = None  # of the PING not answered yet
        self._alive_at = float("-inf")  # when the last answered PING was sent
        self._socket: socket.socket | None = None  # the subscription's, watched by `_quiet`
        self._readable = select.poll()
        # redis-py has nothing buffered: the last read of the subscription ended finding nothing
        self._read_out = False
        self._lock = threading.Lock()

    def subscribe(self) -> None:
        """Subscribe and wait (within the client's timeout) for Redis to confirm it."""
        with self._lock:
            self._close()
            pubsub = self.client.pubsub()  # type: ignore[no-untyped-call]
            self._pubsub = pubsub
            try:
                sent_at = self.clock()
                pubsub.subscribe(self.channel)
                message = pubsub.get_message(timeout=self._timeout())
                if message is None or message["type"] != "subscribe":
                    raise RedisConnectionError("the subscription was not confirmed")
                self._alive_at = sent_at
                self._watch(pubsub)
                self._read_out = False  # the confirmation's read may have buffered more
            except Exception:
                self._close()
                raise

    def drain(self) -> tuple[list[str], bool]:
        """The sessions revoked since the last drain, and whether nothing published before the
        last answered PING can be missing."""
        if not self._lock.acquire(blocking=False):
            return [], False
        try:
            pubsub = self._pubsub
            if pubsub is None:
                return [], False
            quiet = self._quiet(pubsub)
            if quiet is not None:
                return [], quiet
            revoked: list[str] = []
            try:
                self._read_out = False
                while (message := pubsub.get_message(timeout=0)) is not None:
                    if message["type"] == "message":
                        revoked += bytes(message["data"]).decode().split()
                    elif message["type"] == "pong" and self._ping_sent_at is not None:
                        self._alive_at, self._ping_sent_at = self._ping_sent_at, None
                    elif message["type"] == "subscribe":  # redis-py reconnected on its own
                        raise RedisConnectionError("resubscribed: messages may be missing")
                # redis-py answers None only with nothing left in its buffer
                self._read_out = True
                now = self.clock()
                if self._ping_sent_at is None and now - self._alive_at >= FEED_PING_SECONDS:
                    self._ping_sent_at = now
                    pubsub.ping()
                elif (
                    self._ping_sent_at is not None and now - self._ping_sent_at > FEED_STALE_SECONDS
                ):
                    raise RedisConnectionError("the subscription's PING went unanswered")
            except (RedisError, OSError, ValueError) as exc:
                logger.warning("session revocations: the subscription failed (%s)", exc)
                self._close()
                return revoked, False
            return revoked, self.clock() - self._alive_at <= FEED_STALE_SECONDS
        finally:
            self._lock.release()

    def _quiet(self, pubsub: PubSub) -> bool | None:
        """Whether the subscription is fresh, when nothing has arrived on its socket since a read
        that emptied redis-py's buffer, and no PING is due: reading it through redis-py (most
        of a check's cost) would then find nothing. None when it must be read."""
        sock = self._socket
        # A connection redis-py has replaced (a reconnection) is read, and refused, in `drain`.
        if not self._read_out or sock is None or _socket_of(pubsub) is not sock:
            return None
        if self._readable.poll(0):
            return None
        now = self.clock()
        if self._ping_sent_at is None:
            return True if now - self._alive_at < FEED_PING_SECONDS else None
        if now - self._ping_sent_at > FEED_STALE_SECONDS:
            return None
        return now - self._alive_at <= FEED_STALE_SECONDS

    def _watch(self, pubsub: PubSub) -> None:
        """Watch the new subscription's socket (a poll object of its own: none of a closed
        socket's file descriptor, which the system may reuse, is left in it)."""
        self._socket = _socket_of(pubsub)
        self._readable = select.poll()
        if self._socket is not None:
            self._readable.register(self._socket, select.POLLIN | select.POLLPRI)

    @property
    def is_open(self) -> bool:
        return self._pubsub is not None

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        self._socket = None
        self._read_out = False
        if self._pubsub is not None:
            with contextlib.suppress(Exception):  # a broken connection is being thrown away
                self._pubsub.close()
        self._pubsub = None
        self._ping_sent_at = None
        self._alive_at = float("-inf")

    def _timeout(self) -> float:
        timeout = self.client.connection_pool.connection_kwargs.get("socket_timeout")
        return float(timeout) if timeout else 1.0


def _socket_of(pubsub: PubSub) -> socket.socket | None:
    """The socket of the subscription's connection: redis-py's own attribute; without it
    (another redis-py) every check reads through redis-py, as before."""
    sock = getattr(pubsub.connection, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


@dataclass
class SessionRevocations:
    """What every worker knows of revoked sessions, and where it asks for the rest."""

    ttl: timedelta  # the access-token lifetime
    is_revoked_durably: Callable[[str], bool]
    # Sessions the database has revoked within the last `ttl` (to refill Redis after an outage).
    recently_revoked: Callable[[], Iterable[str]] = lambda: ()
    shared: SharedRevocations | None = None
    # With `shared`: the subscription that makes most checks need no round trip.
    feed: RevocationFeed | None = None
    cache_seconds: float = 0.0
    poll_seconds: float = 0.0  # without `shared`: how often to read the database's revocations
    retry_after_seconds: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _revoked: dict[str, float] = field(default_factory=dict)  # id -> when to forget it
    _not_revoked: dict[str, float] = field(default_factory=dict)  # id -> until when to trust
    _shared_down_until: float = 0.0
    _shared_failing: bool = False  # since its last failure, Redis has not answered yet
    _next_poll: float = 0.0
    _feed_trusted: bool = False  # subscribed, and the database's recent revocations read since
    _next_feed_try: float = 0.0
    _poll_episodes: FailureEpisodes = field(
        default_factory=lambda: FailureEpisodes(
            logger, "session revocations: reading the database's revocations"
        )
    )
    _refill_episodes: FailureEpisodes = field(
        default_factory=lambda: FailureEpisodes(
            logger, "session revocations: refilling Redis from the database"
        )
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def revoke(self, session_ids: Iterable[str]) -> None:
        """Record revocations the database has committed, here and in the shared store."""
        ids = [session_id for session_id in session_ids if session_id]
        if not ids:
            return
        self.remember(ids)
        if self.shared is None:
            return
        try:
            self.shared.add(ids, self.ttl)
        except RedisError as exc:
            # The other workers find it in the database while Redis is down; `resync` puts
            # it into Redis when it is back.
            self._shared_failed(exc)

    def remember(self, session_ids: Iterable[str]) -> None:
        """Know these sessions as revoked in this process only (startup, resync)."""
        forget_at = self.clock() + self.ttl.total_seconds()
        with self._lock:
            for session_id in session_ids:
                self._revoked[session_id] = forget_at
                self._not_revoked.pop(session_id, None)

    def local_answer(self, session_id: str) -> bool | None:
        """True or False when this process can tell without I/O, None when it must ask."""
        fresh = self._drain_feed()
        now = self.clock()
        with self._lock:
            forget_at = self._revoked.get(session_id)
            if forget_at is not None:
                if now < forget_at:
                    return True
                del self._revoked[session_id]
            if self.shared is None:
                # a poll that is due runs in `ask` (off the event loop)
                return None if self.poll_seconds > 0 and self._next_poll <= now else False
            if fresh:
                return False
            trusted_until = self._not_revoked.get(session_id)
            if trusted_until is not None and now < trusted_until:
                return False
        return None

    def ask(self, session_id: str) -> bool:
        """Ask the shared store (or the database while it is down), and remember the answer.
        Without a shared store: read the database's recent revocations if a poll is due."""
        if self.shared is None:
            self._poll_if_due()
            with self._lock:
                return session_id in self._revoked
        self._subscribe_if_due()
        revoked = self._ask_shared(session_id)
        if revoked is None:
            revoked = self.is_revoked_durably(session_id)
        if revoked:
            self.remember([session_id])
        elif self.cache_seconds > 0:
            with self._lock:
                if len(self._not_revoked) >= MAX_CACHED_ANSWERS:
                    self._not_revoked.clear()
                self._not_revoked[session_id] = self.clock() + self.cache_seconds
        return revoked

    def is_revoked(self, session_id: str) -> bool:
        answer = self.local_answer(session_id)
        return self.ask(session_id) if answer is None else answer

    def _drain_feed(self) -> bool:
        """Take in what the subscription received; True when it leaves nothing to ask."""
        if self.feed is None or not self._feed_trusted:
            return False
        revoked, fresh = self.feed.drain()
        if revoked:
            self.remember(revoked)
        if not self.feed.is_open:  # it failed: ask Redis until a new subscription is read
            self._feed_trusted = False
        return fresh and not self.shared_is_down

    def _subscribe_if_due(self) -> None:
        """(Re)subscribe, at most once per `retry_after_seconds`, then read the database's
        recent revocations: whatever was published before the subscription is in there (a
        revocation is published after its commit), whatever after it arrives on the channel."""
        if self.feed is None or self._feed_trusted or self.shared_is_down:
            return
        now = self.clock()
        with self._lock:
            if now < self._next_feed_try:
                return
            self._next_feed_try = now + self.retry_after_seconds
        try:
            self.feed.subscribe()
            self.remember(self.recently_revoked())
        except Exception as exc:  # Redis or the database away: checks ask as before
            self.feed.close()
            logger.warning("session revocations: could not subscribe (%s); asking Redis", exc)
            return
        self._feed_trusted = True

    def _poll_if_due(self) -> None:
        """Without a shared store: what other processes revoked, read from the database by
        one request per `poll_seconds` (the others answer from this process's set meanwhile)."""
        if self.poll_seconds <= 0:
            return
        now = self.clock()
        with self._lock:
            if now < self._next_poll:
                return
            self._next_poll = now + self.poll_seconds
        try:
            self.remember(self.recently_revoked())
        except Exception as exc:  # the database is away: the request meets it too
            self._poll_episodes.failed(exc, "this process answers from what it knows")
            return
        self._poll_episodes.succeeded()

    def resync(self, recent: Iterable[str]) -> None:
        """Put revocations the database has (of the last access-token lifetime) back into the
        shared store: after Redis was away, or at start."""
        ids = list(recent)
        self.remember(ids)
        if self.shared is not None and ids:
            try:
                self.shared.add(ids, self.ttl)
            except RedisError as exc:
                self._shared_failed(exc)

    @property
    def shared_is_down(self) -> bool:
        return self.clock() < self._shared_down_until

    def _ask_shared(self, session_id: str) -> bool | None:
        if self.shared is None or self.shared_is_down:
            return None
        try:
            revoked = self.shared.contains(session_id)
            if self._shared_failing:
                self._refill_shared()
            return revoked
        except RedisError as exc:
            self._shared_failed(exc)
            return None

    def _refill_shared(self) -> None:
        """Revocations made while Redis was away (in any process) are only in the database."""
        self._shared_failing = False
        try:
            self.resync(self.recently_revoked())
        except Exception as exc:  # the database is away too: try again at the next answer
            self._shared_failing = True
            self._refill_episodes.failed(exc, "tried again at Redis's next answer")
            return
        self._refill_episodes.succeeded()
        logger.warning("session revocations: Redis answers again")

    def _shared_failed(self, exc: Exception) -> None:
        """One warning per outage; until `retry_after_seconds` from now, the database answers."""
        with self._lock:
            first = not self._shared_failing
            self._shared_failing = True
            self._shared_down_until = self.clock() + self.retry_after_seconds
        if first:
            logger.warning(
                "session revocations: Redis does not answer (%s); the database answers until "
                "it does",
                exc,
            )
