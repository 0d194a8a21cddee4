"""Flask behind connexion with one thread hand-off per request.

connexion's FlaskApp runs Flask through a2wsgi's WSGIMiddleware, which crosses between the event
loop and a worker thread for every message: the response's start, each body chunk and the end of
the body are each a round trip through the loop (a future, a queue, a wake-up of the loop). Most
of our answers are small JSON bodies, so here the worker thread runs the whole WSGI call and
hands back status, headers and body at once. A body larger than `BUFFERED_BYTES` (a download)
is streamed chunk by chunk with back-pressure, as a2wsgi streams it; a request body of unknown or
large size (an upload) is read from the worker thread as it arrives, by a2wsgi's own reader.
Everything else (the environ, the thread pool, other scopes) stays a2wsgi's.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
from concurrent.futures import Executor
from typing import Any

from a2wsgi.wsgi import Body, WSGIMiddleware, build_environ
from connexion import FlaskApp
from starlette.types import Message, Receive, Scope, Send

BUFFERED_BYTES = 256 * 1024  # request and response bodies up to this size cross at once

WSGIApp = Any  # a WSGI callable: (environ, start_response) -> iterable of bytes


def install(app: FlaskApp) -> None:
    """Put the bridge in place of the a2wsgi middleware connexion's FlaskApp made."""
    flask_side = app._middleware_app
    flask_side.asgi_app = OneHandOffMiddleware(flask_side.asgi_app)


class OneHandOffMiddleware:
    """In place of a2wsgi's WSGIMiddleware `previous`: the same WSGI app and thread pool."""

    def __init__(self, previous: WSGIMiddleware) -> None:
        self.previous: Any = previous  # a2wsgi types its scopes and messages its own way
        self.app: WSGIApp = previous.app
        self.executor: Executor = previous.executor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.previous(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        body = await _small_body(scope, receive)
        environ = build_environ(
            scope,  # type: ignore[arg-type]
            io.BytesIO(body) if body is not None else Body(loop, receive),  # type: ignore[arg-type]
        )
        call = _Call(self.app, loop, send)
        answer = await loop.run_in_executor(
            self.executor, contextvars.copy_context().run, call.run, environ
        )
        if answer is not None:
            start, content = answer
            await send(start)
            await send({"type": "http.response.body", "body": content})


async def _small_body(scope: Scope, receive: Receive) -> bytes | None:
    """The whole request body when it is known to be small (none at all without Content-Length
    or Transfer-Encoding), else None: the worker thread reads it as it comes."""
    length: int | None = None
    for raw_name, value in scope["headers"]:
        name = raw_name.lower()
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
    if length is None or length == 0:
        return b""
    if length > BUFFERED_BYTES:
        return None
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):  # the end, or http.disconnect
            return b"".join(chunks)


class _Call:
    """One WSGI call on a worker thread: its answer buffered, or streamed once it grows."""

    def __init__(self, app: WSGIApp, loop: asyncio.AbstractEventLoop, send: Send) -> None:
        self.app = app
        self.loop = loop
        self.send = send
        self.start: Message | None = None
        self.streaming = False
        self.chunks: list[bytes] = []
        self.size = 0

    def run(self, environ: Any) -> tuple[Message, bytes] | None:
        """(start message, body) to send from the loop, or None when already streamed."""
        iterable = self.app(environ, self.start_response)
        try:
            for chunk in iterable:
                self.write(chunk)
        finally:
            getattr(iterable, "close", lambda: None)()
        if self.streaming:
            self._send({"type": "http.response.body", "body": b""})
            return None
        assert self.start is not None, "the WSGI app answered without start_response"
        return self.start, b"".join(self.chunks)

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        if exc_info is not None and self.streaming:  # too late to change the answer (PEP 3333)
            raise exc_info[1].with_traceback(exc_info[2])
        self.start = {
            "type": "http.response.start",
            "status": int(status.split(" ", 1)[0]),
            "headers": [
                (name.strip().encode("latin1").lower(), value.strip().encode("latin1"))
                for name, value in headers
            ],
        }
        return self.write

    def write(self, chunk: bytes) -> None:
        if self.streaming:
            self._send({"type": "http.response.body", "body": chunk, "more_body": True})
            return
        self.chunks.append(chunk)
        self.size += len(chunk)
        if self.size > BUFFERED_BYTES:
            assert self.start is not None, "the WSGI app wrote before start_response"
            self.streaming = True
            self._send(self.start)
            body, self.chunks = b"".join(self.chunks), []
            self._send({"type": "http.response.body", "body": body, "more_body": True})

    def _send(self, message: Message) -> None:
        """Send from the worker thread, waiting until the loop has (back-pressure)."""
        asyncio.run_coroutine_threadsafe(self._sending(message), self.loop).result()

    async def _sending(self, message: Message) -> None:
        await self.send(message)
