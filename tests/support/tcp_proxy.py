"""A TCP proxy for fault injection: a test puts it between a client and a server (MariaDB, Redis)
and stalls, cuts and restores the traffic, without touching the server itself.

    with TcpProxy("127.0.0.1", 3306) as proxy:
        url = f"mysql+pymysql://root@127.0.0.1:{proxy.port}/db"
        ...
        proxy.stall()    # bytes stop in both directions, connections stay open: clients hang
        proxy.resume()   # as with SIGSTOP / SIGCONT of the server; nothing is lost
        proxy.cut()      # every connection reset (RST), new ones refused: a killed server
        proxy.restore()  # new connections get through again

A stall leaves the bytes in the kernel's socket buffers, as a stopped server does: TCP connects
still succeed (the proxy accepts them; it connects them to the target only once resumed), and
whatever a client sent during the stall, even one that gave up, is delivered on resume. The
proxy listens on 127.0.0.1 on a port of PORTAL_TEST_PORTS and runs an asyncio loop in one
background thread; every command returns once it is in force.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tests.support.ports import bind_in_range

COMMAND_TIMEOUT_SECONDS = 10
T = TypeVar("T")


class TcpProxy:
    """Forwards connections to 127.0.0.1:`port` to `target_host`:`target_port`."""

    def __init__(self, target_host: str, target_port: int, *, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = port or 0  # chosen by start() when not given
        self.accepted = 0  # client connections accepted since start
        self._links: set[_Link] = set()
        self._flowing: asyncio.Event | None = None
        self._cut = False
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        listener = self._listening_socket()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"tcp-proxy-{self.port}", daemon=True
        )
        self._thread.start()
        try:
            self._call(self._open, listener)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Closes every connection and the listening socket, and stops the thread."""
        if self._loop is None or self._thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(
                COMMAND_TIMEOUT_SECONDS
            )
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(COMMAND_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                raise RuntimeError("the proxy's thread did not stop")
            self._loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- faults --------------------------------------------------------------------------------

    def stall(self) -> None:
        """Stops forwarding in both directions; connections stay open and new ones are accepted
        but wait. Idempotent."""
        self._call(self._set_flowing, False)

    def resume(self) -> None:
        """Forwards again, the bytes held during the stall first."""
        self._call(self._set_flowing, True)

    def cut(self) -> None:
        """Resets every connection (RST to the client and the target) and refuses new ones until
        restore(); the listening port is closed, so connecting fails at once."""
        self._call(self._cut_all)

    def restore(self) -> None:
        """Accepts connections again on the same port (after cut(); resume() ends a stall)."""
        self._call(self._restore)

    # -- observation ---------------------------------------------------------------------------

    @property
    def active(self) -> int:
        """Client connections open now (accepted and not yet closed on both sides)."""
        return self._call(lambda: len(self._links))

    @property
    def stalled(self) -> bool:
        return self._call(lambda: self._flowing is not None and not self._flowing.is_set())

    @property
    def is_cut(self) -> bool:
        return self._call(lambda: self._cut)

    # -- inside the loop thread ----------------------------------------------------------------

    def _call(self, function: Callable[..., T | Awaitable[T]], *args: Any) -> T:
        """Runs `function` (awaited if it is a coroutine function) in the loop thread and returns
        its result, so each command is in force when it returns and only that thread touches
        the proxy's state."""
        if self._loop is None:
            raise RuntimeError("the proxy is not running")

        async def run() -> T:
            result = function(*args)
            return await result if inspect.isawaitable(result) else result  # type: ignore[return-value]

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(COMMAND_TIMEOUT_SECONDS)

    def _listening_socket(self) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # After a cut, restore() binds the same port again while old connections sit in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            if self.port:
                listener.bind((self.host, self.port))
            else:
                self.port = bind_in_range(listener, self.host)
            listener.listen(128)
        except BaseException:
            listener.close()
            raise
        return listener

    async def _open(self, listener: socket.socket) -> None:
        assert self._loop is not None
        if self._flowing is None:
            self._flowing = asyncio.Event()
            self._flowing.set()
        self._server = await self._loop.create_server(lambda: _Side(self, None), sock=listener)

    def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()
        for link in self._links:
            link.refresh_reading()

    def _cut_all(self) -> None:
        self._cut = True
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self._links):
            link.reset()

    async def _restore(self) -> None:
        if self._cut:
            await self._open(self._listening_socket())
            self._cut = False

    async def _shutdown(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for link in list(self._links):
            link.reset()
        while self._links:  # each reset side reports connection_lost on a later iteration
            await asyncio.sleep(0.01)
        if server is not None:
            await server.wait_closed()  # from 3.12 on, this waits for the connections too
        pending = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.gather(*pending, return_exceptions=True)  # the cancelled connects

    def _accepted(self, client: _Side) -> None:
        assert self._loop is not None
        self.accepted += 1
        link = _Link(self, client)
        self._links.add(link)
        link.connect_task = self._loop.create_task(self._connect(link))

    async def _connect(self, link: _Link) -> None:
        assert self._loop is not None and self._flowing is not None
        await self._flowing.wait()  # a stopped server would not have answered yet either
        try:
            await self._loop.create_connection(lambda: _Side(self, link), *self.target)
        except OSError:
            link.client.abort(rst=True)  # the target is down: so is the client's connection

    def _flowing_now(self) -> bool:
        return self._flowing is not None and self._flowing.is_set()


class _Link:
    """One client connection and its connection to the target."""

    def __init__(self, proxy: TcpProxy, client: _Side) -> None:
        self.proxy = proxy
        self.client = client
        client.link = self
        self.upstream: _Side | None = None
        self.connect_task: asyncio.Task[None] | None = None

    def peer(self, side: _Side) -> _Side | None:
        return self.upstream if side is self.client else self.client

    def refresh_reading(self) -> None:
        for side in (self.client, self.upstream):
            if side is not None:
                side.refresh_reading()

    def reset(self) -> None:
        if self.connect_task is not None:
            self.connect_task.cancel()
        for side in (self.client, self.upstream):
            if side is not None:
                side.abort(rst=True)

    def lost(self, side: _Side, exc: Exception | None) -> None:
        other = self.peer(side)
        if other is not None:
            if exc is None:
                other.close()  # flushes what the peer still has to deliver, then FIN
            else:
                other.abort(rst=True)  # pass a reset on as a reset
        if self.client.closed and (self.upstream is None or self.upstream.closed):
            if self.connect_task is not None:
                self.connect_task.cancel()
            self.proxy._links.discard(self)


class _Side(asyncio.Protocol):
    """One socket of a link; reads only while the proxy flows and the peer can take more."""

    def __init__(self, proxy: TcpProxy, link: _Link | None) -> None:
        self.proxy = proxy
        self.link = link  # None for a client side until it is accepted
        self.transport: asyncio.Transport | None = None
        self.peer_full = False
        self.got_eof = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.pause_reading()  # a client waits for its target; any side for a resume
        if self.link is None:
            self.proxy._accepted(self)
        else:
            self.link.upstream = self
            if self.link.client.closed:
                self.abort()
                return
        assert self.link is not None
        self.link.refresh_reading()

    def refresh_reading(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        ready = self.link is not None and self.link.upstream is not None
        if ready and self.proxy._flowing_now() and not self.peer_full:
            self.transport.resume_reading()
        else:
            self.transport.pause_reading()

    def data_received(self, data: bytes) -> None:
        assert self.link is not None
        peer = self.link.peer(self)
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)

    def eof_received(self) -> bool:
        assert self.link is not None
        self.got_eof = True
        peer = self.link.peer(self)
        if peer is None or peer.transport is None:
            return False
        if peer.got_eof:  # both directions are done
            peer.close()
            return False
        if peer.transport.can_write_eof():
            peer.transport.write_eof()
        return True  # half-close: the other direction may still carry an answer

    def pause_writing(self) -> None:
        self._set_peer_full(True)

    def resume_writing(self) -> None:
        self._set_peer_full(False)

    def _set_peer_full(self, full: bool) -> None:
        assert self.link is not None
        peer = self.link.peer(self)
        if peer is not None:
            peer.peer_full = full
            peer.refresh_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.link is not None:
            self.link.lost(self, exc)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self, rst: bool = False) -> None:
        if self.transport is None or self.closed:
            return
        if rst:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                # A zero linger time makes close() send RST instead of FIN: a crash, not a goodbye.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()
