"""The one-hand-off bridge between the event loop and Flask's worker threads."""

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from a2wsgi import WSGIMiddleware

from portal.web import wsgi_bridge
from portal.web.wsgi_bridge import BUFFERED_BYTES, OneHandOffMiddleware

Message = dict[str, Any]


def _serve(
    app: Any, *, method: str = "GET", headers: Iterable[tuple[bytes, bytes]] = (),
    body_parts: Iterable[bytes] = (),
) -> tuple[list[Message], int]:  # fmt: skip
    """Messages the bridge sends for one request to WSGI `app`, and how many of its
    receive() calls came from a worker thread."""
    bridge = OneHandOffMiddleware(WSGIMiddleware(app, workers=2))
    parts = list(body_parts) or [b""]
    sent: list[Message] = []
    from_threads = 0

    async def go() -> None:
        pending = iter(parts)

        async def receive() -> Message:
            nonlocal from_threads
            part = next(pending, None)
            if part is None:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": part, "more_body": part is not parts[-1]}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": "/x", "raw_path": b"/x", "query_string": b"",
            "root_path": "", "headers": [(b"host", b"test"), *headers],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        }  # fmt: skip
        original = asyncio.run_coroutine_threadsafe

        def counting(coroutine: Any, loop: Any) -> Any:
            nonlocal from_threads
            if getattr(coroutine, "__qualname__", "").endswith("receive"):
                from_threads += 1
            return original(coroutine, loop)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(wsgi_bridge.asyncio, "run_coroutine_threadsafe", counting)
            await bridge(scope, receive, send)

    asyncio.run(go())
    return sent, from_threads


def _echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-Length", str(len(body)))])
    return [b"got:", body]


def test_a_small_answer_crosses_in_one_start_and_one_body() -> None:
    sent, _ = _serve(
        _echo, method="POST", headers=[(b"content-length", b"5")], body_parts=[b"hel", b"lo"]
    )

    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"text/plain"), (b"x-length", b"5")],
        },
        {"type": "http.response.body", "body": b"got:hello"},
    ]


def test_a_get_without_a_body_reads_nothing() -> None:
    sent, from_threads = _serve(_echo)

    assert sent[1]["body"] == b"got:"
    assert from_threads == 0


def test_a_large_or_unsized_request_body_is_read_from_the_worker_thread() -> None:
    parts = [letter * (BUFFERED_BYTES // 2) for letter in (b"a", b"b", b"c")]
    sent, from_threads = _serve(
        _echo, method="POST", headers=[(b"transfer-encoding", b"chunked")], body_parts=parts
    )

    assert sent[0]["headers"][1] == (b"x-length", str(3 * len(parts[0])).encode())
    assert from_threads >= 3
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"got:" + b"".join(parts)


def test_a_large_answer_is_streamed_in_order_and_ended() -> None:
    chunk = b"y" * 100_000

    def download(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        for _ in range(10):
            yield chunk

    sent, _ = _serve(download)

    assert sent[0] == {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"application/octet-stream")],
    }
    bodies = sent[1:]
    assert len(bodies) > 2  # streamed, not one body
    assert all(m["more_body"] for m in bodies[:-1])
    assert bodies[-1] == {"type": "http.response.body", "body": b""}
    assert b"".join(m["body"] for m in bodies) == chunk * 10


def test_an_error_of_the_app_reaches_the_asgi_side() -> None:
    def failing(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise LookupError("no such thing")

    with pytest.raises(LookupError, match="no such thing"):
        _serve(failing)


def test_the_iterable_is_closed_and_exc_info_replaces_an_unsent_start() -> None:
    closed = []

    class Answer(list[bytes]):
        def close(self) -> None:
            closed.append(True)

    def replaced(environ: dict[str, Any], start_response: Any) -> Answer:
        start_response("200 OK", [])
        try:
            raise ValueError("late")
        except ValueError as exc:
            start_response("500 Internal Server Error", [], (type(exc), exc, exc.__traceback__))
        return Answer([b"sorry"])

    sent, _ = _serve(replaced)

    assert sent[0]["status"] == 500
    assert sent[1]["body"] == b"sorry"
    assert closed == [True]


def test_connexion_flask_apps_get_the_bridge_with_a2wsgis_app_and_pool() -> None:
    from connexion import FlaskApp

    app = FlaskApp(__name__)
    before = app._middleware_app.asgi_app

    wsgi_bridge.install(app)

    bridge = app._middleware_app.asgi_app
    assert isinstance(bridge, OneHandOffMiddleware)
    assert (bridge.app, bridge.executor) == (before.app, before.executor)
    assert isinstance(before.executor, ThreadPoolExecutor)
