"""BodyLimitMiddleware stops a body at the limit while it streams in, without reading on."""

from __future__ import annotations

import asyncio

import pytest

from kernel.errors import TooLarge
from portal.web.uploads import MULTIPART_OVERHEAD, BodyLimitMiddleware

CHUNK = 64 * 1024
LIMIT = 256 * 1024


def _run(headers: list[tuple[bytes, bytes]], messages: int) -> tuple[int, BaseException | None]:
    """Send `messages` chunks through the middleware to an app that reads them all."""
    received = 0

    async def receive() -> dict:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": bytes(CHUNK), "more_body": received < messages}

    async def app(scope, receive_, send) -> None:  # type: ignore[no-untyped-def]
        more = True
        while more:
            more = (await receive_())["more_body"]

    async def send(message) -> None:  # type: ignore[no-untyped-def]
        pass

    middleware = BodyLimitMiddleware(app, max_upload_bytes=LIMIT)
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    try:
        asyncio.run(middleware(scope, receive, send))
    except TooLarge as exc:
        return received, exc
    return received, None


def test_a_body_without_length_is_cut_off_just_past_the_limit():
    received, error = _run([(b"transfer-encoding", b"chunked")], messages=1000)
    assert isinstance(error, TooLarge)
    assert received == (LIMIT + MULTIPART_OVERHEAD) // CHUNK + 1  # not one message more


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    too_long = str(LIMIT + MULTIPART_OVERHEAD + 1).encode()
    received, error = _run([(b"content-length", too_long)], messages=1000)
    assert isinstance(error, TooLarge) and received == 0


def test_a_body_within_the_limit_passes_untouched():
    received, error = _run([(b"content-length", str(4 * CHUNK).encode())], messages=4)
    assert error is None and received == 4


@pytest.mark.parametrize("length", [b"", b"abc"])
def test_missing_or_odd_lengths_fall_back_to_counting(length):
    received, error = _run([(b"content-length", length)], messages=1000)
    assert received > 1
    assert isinstance(error, TooLarge)
