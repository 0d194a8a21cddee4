"""The general limit's counts reserved from Redis in blocks (`OneTripRedisStorage`): two
storages on one Redis stand for two server processes. No count is handed out twice, nobody is
admitted past the limit, and a client is refused early by at most (processes - 1) x
(MAX_BLOCK - 1) requests of a window."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from limits import parse

from portal.web import limits as web_limits
from portal.web.limits import (
    BLOCK_SHARE,
    GENERAL_SCOPE,
    MAX_BLOCK,
    OneTripRedisStorage,
    block_size,
    storage_uri_for,
)
from tests.conftest import redis_url_or_skip


@pytest.fixture
def redis_url() -> str:
    return redis_url_or_skip()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    prefix = f"portal-blocks-{uuid.uuid4().hex[:12]}"
    yield prefix
    store = redis.Redis.from_url(redis_url)
    leftovers = list(store.scan_iter(f"*{prefix}*"))
    if leftovers:
        store.delete(*leftovers)


def storages(redis_url: str, count: int) -> list[OneTripRedisStorage]:
    return [
        OneTripRedisStorage(storage_uri_for(redis_url), block_scopes=[GENERAL_SCOPE])
        for _ in range(count)
    ]


def key(prefix: str, limit: int, scope: str = GENERAL_SCOPE) -> str:
    """The key flask-limiter builds for a client's counter of `scope`."""
    return parse(f"{limit} per 900 second").key_for(prefix, "user:patient-1", scope)


def shared_count(redis_url: str, storage: OneTripRedisStorage, counter: str) -> int:
    value = redis.Redis.from_url(redis_url).get(storage.prefixed_key(counter))
    return int(value) if value is not None else 0


def test_block_size_is_one_unless_the_room_is_many_blocks():
    assert block_size(100, 0) == 1  # the default general limit: counted exactly
    assert block_size(2 * BLOCK_SHARE - 1, 0) == 1
    assert block_size(2 * BLOCK_SHARE, 0) == 2
    assert block_size(1_000_000, 0) == MAX_BLOCK
    assert block_size(10_000, 10_000 - 3 * BLOCK_SHARE) == 3  # shrinks near the limit
    assert block_size(10_000, 10_000) == 1
    assert block_size(10_000, 20_000) == 1  # past the limit: one count per refused request


def test_a_block_is_one_increment_and_its_counts_are_handed_out_without_redis(redis_url, prefix):
    (storage,) = storages(redis_url, 1)
    counter = key(prefix, 1_000_000)
    assert storage.incr(counter, 900) == 1
    assert shared_count(redis_url, storage, counter) == MAX_BLOCK  # one reservation
    counts = [storage.incr(counter, 900) for _ in range(MAX_BLOCK - 1)]
    assert counts == list(range(2, MAX_BLOCK + 1))
    assert shared_count(redis_url, storage, counter) == MAX_BLOCK  # nothing asked of Redis
    assert storage.incr(counter, 900) == MAX_BLOCK + 1  # the next block
    assert shared_count(redis_url, storage, counter) == 2 * MAX_BLOCK


def test_two_processes_never_hand_out_a_count_twice_nor_admit_past_the_limit(redis_url, prefix):
    limit = 20 * BLOCK_SHARE
    first, second = storages(redis_url, 2)
    counter = key(prefix, limit)
    counts = []
    # uneven traffic: the first process serves three requests for each of the second's
    for turn in range(2 * limit):
        storage = second if turn % 4 == 3 else first
        counts.append(storage.incr(counter, 900))
    assert len(counts) == len(set(counts))  # every request its own place in the shared count
    admitted = [count for count in counts if count <= limit]
    assert len(admitted) <= limit
    assert len(admitted) >= limit - (2 - 1) * (MAX_BLOCK - 1)  # the documented bound


def test_small_limits_and_the_operations_own_limits_count_every_request_in_redis(redis_url, prefix):
    (storage,) = storages(redis_url, 1)
    small = key(prefix, 100)  # under 2 x BLOCK_SHARE: one increment per request
    login = key(prefix, 1_000_000, scope="login-ip")  # not a block scope
    for expected in range(1, 6):
        assert storage.incr(small, 900) == expected
        assert storage.incr(login, 900) == expected
        assert shared_count(redis_url, storage, small) == expected
        assert shared_count(redis_url, storage, login) == expected


def test_a_block_is_not_used_past_its_window(redis_url, prefix, monkeypatch):
    (storage,) = storages(redis_url, 1)
    counter = key(prefix, 1_000_000)
    assert storage.incr(counter, 900) == 1
    redis.Redis.from_url(redis_url).delete(storage.prefixed_key(counter))  # Redis's window ended
    real_time = web_limits.time.time
    monkeypatch.setattr(web_limits.time, "time", lambda: real_time() + 901)
    assert storage.incr(counter, 900) == 1  # a new window: counted afresh, in a new block
    assert shared_count(redis_url, storage, counter) == MAX_BLOCK


def test_clearing_a_counter_drops_this_process_block(redis_url, prefix):
    (storage,) = storages(redis_url, 1)
    counter = key(prefix, 1_000_000)
    storage.incr(counter, 900)
    storage.clear(counter)
    assert storage.incr(counter, 900) == 1


class RacingStorage(OneTripRedisStorage):
    """Another request of the same process reserves while this one's increment is in flight."""

    raced = False

    def _increment(self, key: str, expiry: int, amount: int) -> tuple[int, float]:
        if not self.raced:
            self.raced = True
            self.incr(key, expiry)
        return super()._increment(key, expiry, amount)


def test_blocks_reserved_at_the_same_time_are_both_handed_out(redis_url, prefix):
    storage = RacingStorage(storage_uri_for(redis_url), block_scopes=[GENERAL_SCOPE])
    counter = key(prefix, 1_000_000)
    counts = [storage.incr(counter, 900) for _ in range(2 * MAX_BLOCK - 1)]
    counts.append(1)  # the racing request's
    assert sorted(counts) == list(range(1, 2 * MAX_BLOCK + 1))  # none lost, none twice
    assert shared_count(redis_url, storage, counter) == 2 * MAX_BLOCK
