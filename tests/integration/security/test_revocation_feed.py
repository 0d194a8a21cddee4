"""`RedisRevocationFeed` on a real Redis: what `RedisRevocations.add` publishes arrives without
waiting, and a broken connection makes the feed untrusted, even when redis-py reconnects it."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
import redis

from security.revocations import RedisRevocationFeed, RedisRevocations
from tests.conftest import redis_url_or_skip
from tests.support.redis_server import private_redis
from tests.support.waiting import wait_until


@pytest.fixture
def redis_url() -> str:
    return redis_url_or_skip()


def drained_until(feed: RedisRevocationFeed, wanted: int) -> list[str]:
    """What the feed receives, drained (without waiting) until `wanted` ids have arrived."""
    arrived: list[str] = []

    def enough() -> bool:
        arrived.extend(feed.drain()[0])
        return len(arrived) >= wanted

    wait_until(enough, timeout=10, what=f"{wanted} revocations")
    return arrived


def test_published_revocations_arrive_and_the_feed_stays_fresh_by_its_pings(redis_url):
    prefix = f"portal-feed-{uuid.uuid4().hex[:12]}"
    store = RedisRevocations.from_url(redis_url, prefix, timeout=1)
    feed = RedisRevocationFeed(store.client, store.channel, time.monotonic)
    try:
        assert feed.drain() == ([], False)  # not subscribed
        feed.subscribe()
        assert feed.drain() == ([], True)
        store.add(["s1", "s2"], timedelta(minutes=15))
        store.add(["s3"], timedelta(minutes=15))
        assert drained_until(feed, 3) == ["s1", "s2", "s3"]
        assert store.contains("s1")  # the keys too, for processes that ask
    finally:
        feed.close()
        store.client.delete(*(store.key(s) for s in ("s1", "s2", "s3")))


def test_a_ping_left_unanswered_makes_the_feed_stale_then_closed():
    now = [0.0]
    with private_redis() as url:
        store = RedisRevocations.from_url(url, "portal", timeout=1)
        feed = RedisRevocationFeed(store.client, store.channel, lambda: now[0])
        feed.subscribe()
        store.client.client_pause(5000)  # Redis answers nothing for 5 s
        now[0] = 1.0
        assert feed.drain() == ([], True)  # sends a PING
        now[0] = 2.5
        assert feed.drain() == ([], False)  # the PING sent at 1.0 unanswered: stale
        now[0] = 3.5
        assert feed.drain() == ([], False)
        assert not feed.is_open  # unanswered past FEED_STALE_SECONDS: given up


def test_a_cut_connection_closes_the_feed_even_though_redis_py_reconnects_it():
    with private_redis() as url:
        store = RedisRevocations.from_url(url, "portal", timeout=1)
        feed = RedisRevocationFeed(store.client, store.channel, time.monotonic)
        feed.subscribe()
        redis.Redis.from_url(url).client_kill_filter(_type="pubsub")
        store.add(["lost"], timedelta(minutes=15))  # published to nobody
        wait_until(lambda: not feed.drain()[1], timeout=10, what="the cut noticed")
        assert not feed.is_open
        feed.subscribe()
        assert feed.drain() == ([], True)


def test_an_answered_ping_keeps_the_feed_fresh(redis_url):
    now = [0.0]
    store = RedisRevocations.from_url(redis_url, f"portal-feed-{uuid.uuid4().hex[:12]}", 1)
    feed = RedisRevocationFeed(store.client, store.channel, lambda: now[0])
    try:
        feed.subscribe()  # alive at 0.0
        now[0] = 1.0
        assert feed.drain() == ([], True)  # sends a PING
        now[0] = 2.9  # stale but for the PING's answer, which shows it alive at 1.0
        wait_until(lambda: feed.drain()[1], timeout=10, what="the PONG read")
        assert feed.is_open
    finally:
        feed.close()


def test_a_quiet_subscription_is_answered_without_reading_it_and_a_publish_still_arrives(
    redis_url,
):
    prefix = f"portal-feed-{uuid.uuid4().hex[:12]}"
    store = RedisRevocations.from_url(redis_url, prefix, timeout=1)
    feed = RedisRevocationFeed(store.client, store.channel, time.monotonic)
    try:
        feed.subscribe()
        assert feed.drain() == ([], True)  # the first read after subscribing goes to redis-py
        pubsub = feed._pubsub
        assert pubsub is not None
        reads = 0
        get_message = pubsub.get_message

        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal reads
            reads += 1
            return get_message(*args, **kwargs)

        pubsub.get_message = counted  # type: ignore[method-assign]
        for _ in range(20):
            assert feed.drain() == ([], True)
        assert reads == 0  # nothing on the socket, no PING due: one poll, no redis-py read
        store.add(["s1"], timedelta(minutes=15))
        assert drained_until(feed, 1) == ["s1"]  # the socket became readable: read and applied
        assert reads > 0
    finally:
        feed.close()
        store.client.delete(store.key("s1"))
