"""The revocation list: what a worker answers without I/O, when it asks Redis, and how it falls
back to the database while Redis does not answer (a fake store and a fake monotonic clock)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from security.revocations import SessionRevocations

TTL = timedelta(minutes=15)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeRedis:
    def __init__(self) -> None:
        self.keys: dict[str, timedelta] = {}
        self.down = False
        self.asked = 0

    def add(self, session_ids: Iterable[str], ttl: timedelta) -> None:
        if self.down:
            raise RedisConnectionError("down")
        self.keys.update(dict.fromkeys(session_ids, ttl))

    def contains(self, session_id: str) -> bool:
        self.asked += 1
        if self.down:
            raise RedisConnectionError("down")
        return session_id in self.keys


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def revocations(clock, shared=None, durable=(), recent=(), cache_seconds=0.0):  # type: ignore[no-untyped-def]
    durable_set = set(durable)
    return SessionRevocations(
        ttl=TTL,
        is_revoked_durably=lambda session_id: session_id in durable_set,
        recently_revoked=lambda: list(recent),
        shared=shared,
        cache_seconds=cache_seconds,
        clock=clock,
    )


def test_without_redis_the_process_answers_alone_and_forgets_after_the_token_lifetime(clock):
    checks = revocations(clock, durable={"elsewhere"})
    checks.revoke(["s1"])
    assert checks.local_answer("s1") is True
    assert checks.local_answer("elsewhere") is False  # never asks the database per request
    clock.now += TTL.total_seconds()
    assert checks.local_answer("s1") is False  # its access tokens have all expired by now


def test_with_redis_a_revocation_is_published_and_other_workers_ask(clock):
    shared = FakeRedis()
    here, there = revocations(clock, shared), revocations(clock, shared)
    here.revoke(["s1"])
    assert shared.keys == {"s1": TTL}
    assert here.local_answer("s1") is True  # no round trip where it happened
    assert there.local_answer("s1") is None  # must ask
    assert there.is_revoked("s1") is True
    assert there.local_answer("s1") is True  # and remembers
    assert there.is_revoked("s2") is False
    assert there.local_answer("s2") is None  # no cache by default: asks every time


def test_a_not_revoked_answer_is_trusted_for_the_cache_seconds_only(clock):
    shared = FakeRedis()
    there = revocations(clock, shared, cache_seconds=2)
    assert there.is_revoked("s1") is False
    revocations(clock, shared).revoke(["s1"])
    assert there.is_revoked("s1") is False  # the stale answer, for at most 2 s
    assert shared.asked == 1
    clock.now += 2
    assert there.is_revoked("s1") is True


def test_while_redis_is_down_the_database_answers_and_redis_is_refilled_after(clock):
    shared = FakeRedis()
    checks = revocations(clock, shared, durable={"s1"}, recent=["s1"])
    shared.down = True
    revocations(clock, shared).revoke(["s0"])  # a publish that fails does not raise
    assert checks.is_revoked("s1") is True  # from the database
    assert checks.is_revoked("s2") is False
    asked = shared.asked
    assert checks.is_revoked("s3") is False
    assert shared.asked == asked  # within the retry period Redis is not asked again
    shared.down = False
    clock.now += 5
    assert checks.is_revoked("s2") is False  # Redis answers again ...
    assert "s1" in shared.keys  # ... and got what the database revoked meanwhile


def test_when_the_database_fails_too_the_check_fails_closed(clock):
    shared = FakeRedis()
    shared.down = True

    def broken(_session_id: str) -> bool:
        raise RuntimeError("database down")

    checks = SessionRevocations(ttl=TTL, is_revoked_durably=broken, shared=shared, clock=clock)
    with pytest.raises(RuntimeError):
        checks.is_revoked("s1")


def test_without_redis_other_processes_revocations_arrive_within_the_poll_interval(clock, caplog):
    database: list[str] = []
    reads = 0

    def recently_revoked() -> list[str]:
        nonlocal reads
        reads += 1
        if database == ["down"]:
            raise OSError("database away")
        return list(database)

    checks = SessionRevocations(
        ttl=TTL,
        is_revoked_durably=lambda session_id: pytest.fail("no per-request database question"),
        recently_revoked=recently_revoked,
        poll_seconds=2,
        clock=clock,
    )
    assert checks.is_revoked("s1") is False and reads == 1
    database.append("s1")  # another process ended s1
    clock.now += 1
    assert checks.is_revoked("s1") is False and reads == 1  # within the interval: no read
    clock.now += 1
    assert checks.is_revoked("s1") is True and reads == 2
    for _ in range(50):
        checks.is_revoked("s2")
    assert reads == 2  # one read per interval, not per request
    database[:] = ["down"]
    for _ in range(3):
        clock.now += 2
        assert checks.is_revoked("s1") is True  # what it knew stays known
        assert checks.is_revoked("s3") is False  # a poll is due: it fails, once in the log
    failures = [r.getMessage() for r in caplog.records if "failed (" in r.getMessage()]
    assert failures == [
        "session revocations: reading the database's revocations failed (OSError: database "
        "away); this process answers from what it knows; retrying quietly until it works again"
    ]


class FakeFeed:
    """A subscription: `published` is what has arrived; `fresh` whether a PING was answered."""

    def __init__(self, shared: FakeRedis) -> None:
        self.shared = shared
        self.published: list[str] = []
        self.open = False
        self.fresh = True
        self.subscriptions = 0

    @property
    def is_open(self) -> bool:
        return self.open

    def subscribe(self) -> None:
        if self.shared.down:
            raise RedisConnectionError("down")
        self.subscriptions += 1
        self.open = True

    def drain(self) -> tuple[list[str], bool]:
        if not self.open:
            return [], False
        arrived, self.published = self.published, []
        return arrived, self.fresh

    def close(self) -> None:
        self.open = False


def with_feed(clock, shared, recent=()):  # type: ignore[no-untyped-def]
    feed = FakeFeed(shared)
    checks = SessionRevocations(
        ttl=TTL,
        is_revoked_durably=lambda session_id: False,
        recently_revoked=lambda: list(recent),
        shared=shared,
        feed=feed,
        clock=clock,
    )
    return checks, feed


def test_with_a_subscription_checks_answer_without_a_round_trip(clock):
    shared = FakeRedis()
    checks, feed = with_feed(clock, shared, recent=["before"])
    assert checks.local_answer("s1") is None  # not subscribed yet: ask (and subscribe)
    assert checks.is_revoked("s1") is False
    assert feed.subscriptions == 1 and shared.asked == 1
    # revocations made before the subscription come from the database's recent ones
    assert checks.local_answer("before") is True
    assert checks.local_answer("s1") is False
    feed.published.append("s1")  # another process revoked s1
    assert checks.local_answer("s1") is True
    assert shared.asked == 1  # nothing asked of Redis since the subscription


def test_a_subscription_not_known_fresh_or_failed_falls_back_to_asking_redis(clock):
    shared = FakeRedis()
    checks, feed = with_feed(clock, shared)
    checks.is_revoked("s1")
    feed.fresh = False  # no PING answered lately
    assert checks.local_answer("s1") is None
    shared.keys["s1"] = TTL
    assert checks.is_revoked("s1") is True  # asked Redis
    feed.fresh = True
    feed.close()  # the subscription's connection broke
    assert checks.local_answer("s2") is None
    assert checks.is_revoked("s2") is False and feed.subscriptions == 1  # retried later
    clock.now += 5
    assert checks.is_revoked("s2") is False and feed.subscriptions == 2
    assert checks.local_answer("s2") is False  # trusted again


def test_a_subscription_that_cannot_be_made_leaves_the_checks_asking(clock):
    shared = FakeRedis()
    checks, feed = with_feed(clock, shared)
    shared.down = True
    assert checks.is_revoked("s1") is False  # from the database
    shared.down = False
    assert checks.local_answer("s1") is None
    clock.now += 5
    checks.is_revoked("s1")
    assert feed.subscriptions == 1 and checks.local_answer("s1") is False
