"""tests/support/tcp_proxy.py: traffic to MariaDB and Redis passes, stalls, is cut and comes back
as the fault tests expect; and the proxy leaves no thread or socket behind."""

from __future__ import annotations

import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest
import redis
import sqlalchemy as sa
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.ports import free_port
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_until

READ_TIMEOUT = 1.0  # what the stalled clients give up after
NEVER = 60.0  # a timeout that a failing-fast client must not be waiting for


def mysql_connection(server: sa.URL, proxy: TcpProxy, **options: Any) -> pymysql.Connection:
    return pymysql.connect(
        host=proxy.host, port=proxy.port, user=server.username, password=server.password or "",
        connect_timeout=10, **options,
    )  # fmt: skip


def scalar(connection: pymysql.Connection, sql: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
        assert row is not None
        return row[0]


class Answer:
    """A call made in a thread, and when it came back."""

    def __init__(self, call: Any) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.returned_at: float | None = None
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call: Any) -> None:
        try:
            self.value = call()
        except BaseException as error:
            self.error = error
        self.returned_at = time.monotonic()

    def pending_after(self, seconds: float) -> bool:
        self.thread.join(seconds)
        return self.thread.is_alive()

    def wait(self) -> Any:
        self.thread.join(NEVER)
        assert not self.thread.is_alive(), "the call never came back"
        if self.error is not None:
            raise self.error
        return self.value


@pytest.fixture
def mariadb_proxy(mariadb_server: sa.URL) -> Iterator[TcpProxy]:
    with TcpProxy(mariadb_server.host or "127.0.0.1", mariadb_server.port or 3306) as proxy:
        yield proxy


@pytest.fixture
def redis_proxy(redis_address: tuple[str, int]) -> Iterator[TcpProxy]:
    with TcpProxy(*redis_address) as proxy:
        yield proxy


def redis_client(proxy: TcpProxy, timeout: float | None = READ_TIMEOUT) -> redis.Redis:
    # No retries: redis-py retries a timed-out command 3 times by default, which would
    # multiply every timeout measured here.
    return redis.Redis(
        host=proxy.host, port=proxy.port, socket_timeout=timeout, socket_connect_timeout=10,
        retry=Retry(NoBackoff(), 0),
    )  # fmt: skip


# -- MariaDB ---------------------------------------------------------------------------------


def test_queries_reach_mariadb_through_the_proxy(mariadb_server, mariadb_proxy):
    connection = mysql_connection(mariadb_server, mariadb_proxy)
    assert scalar(connection, "SELECT @@port") == (mariadb_server.port or 3306)
    assert (mariadb_proxy.accepted, mariadb_proxy.active) == (1, 1)
    connection.close()
    wait_until(lambda: mariadb_proxy.active == 0, what="the closed connection to be gone")
    assert mariadb_proxy.accepted == 1


def test_a_stall_times_out_a_query_with_a_read_timeout_and_resume_ends_it(
    mariadb_server, mariadb_proxy
):
    connection = mysql_connection(mariadb_server, mariadb_proxy, read_timeout=READ_TIMEOUT)
    assert scalar(connection, "SELECT 1") == 1
    mariadb_proxy.stall()
    started = time.monotonic()
    with pytest.raises(pymysql.OperationalError, match="timed out"):
        scalar(connection, "SELECT 2")
    assert time.monotonic() - started >= READ_TIMEOUT * 0.9  # it waited: nothing answered
    assert mariadb_proxy.stalled
    mariadb_proxy.resume()
    again = mysql_connection(mariadb_server, mariadb_proxy, read_timeout=READ_TIMEOUT)
    assert scalar(again, "SELECT 3") == 3
    again.close()


def test_a_stalled_query_is_answered_only_after_resume(mariadb_server, mariadb_proxy):
    connection = mysql_connection(mariadb_server, mariadb_proxy)  # no read timeout: it hangs
    mariadb_proxy.stall()
    answer = Answer(lambda: scalar(connection, "SELECT 42"))
    assert answer.pending_after(1.5), "a query was answered during the stall"
    resumed_at = time.monotonic()
    mariadb_proxy.resume()
    assert answer.wait() == 42
    assert answer.returned_at is not None and answer.returned_at >= resumed_at
    connection.close()


def test_a_connection_opened_during_a_stall_waits_for_its_greeting(mariadb_server, mariadb_proxy):
    """The TCP connect succeeds, as it does with a stopped server; only a read timeout bounds the
    wait for the server's greeting (pymysql's connect_timeout covers the TCP connect alone)."""
    mariadb_proxy.stall()
    started = time.monotonic()
    with pytest.raises(pymysql.OperationalError):
        mysql_connection(mariadb_server, mariadb_proxy, read_timeout=READ_TIMEOUT)
    assert time.monotonic() - started >= READ_TIMEOUT * 0.9
    mariadb_proxy.resume()
    connection = mysql_connection(mariadb_server, mariadb_proxy, read_timeout=READ_TIMEOUT)
    assert scalar(connection, "SELECT 1") == 1
    connection.close()


def test_cut_fails_clients_fast_and_restore_lets_new_connections_in(mariadb_server, mariadb_proxy):
    connection = mysql_connection(mariadb_server, mariadb_proxy, read_timeout=NEVER)
    assert scalar(connection, "SELECT 1") == 1
    mariadb_proxy.cut()
    assert mariadb_proxy.is_cut and mariadb_proxy.active == 0
    started = time.monotonic()
    with pytest.raises(pymysql.OperationalError, match=r"reset|gone away|Lost connection"):
        scalar(connection, "SELECT 2")
    with pytest.raises(pymysql.OperationalError, match="refused"):
        mysql_connection(mariadb_server, mariadb_proxy, read_timeout=NEVER)
    assert time.monotonic() - started < NEVER / 6  # failed at once, not at a timeout
    mariadb_proxy.restore()
    again = mysql_connection(mariadb_server, mariadb_proxy, read_timeout=NEVER)
    assert scalar(again, "SELECT 3") == 3
    assert (mariadb_proxy.accepted, mariadb_proxy.active) == (2, 1)
    again.close()


# -- Redis -----------------------------------------------------------------------------------


def test_redis_passes_stalls_and_comes_back(redis_proxy):
    client = redis_client(redis_proxy)
    assert client.ping() is True
    redis_proxy.stall()
    started = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        client.ping()
    assert time.monotonic() - started >= READ_TIMEOUT * 0.9
    redis_proxy.resume()
    assert client.ping() is True  # redis-py replaces the timed-out connection
    client.close()


def test_a_stalled_redis_command_is_answered_only_after_resume(redis_proxy):
    client = redis_client(redis_proxy, timeout=None)
    assert client.ping() is True
    redis_proxy.stall()
    answer = Answer(client.ping)
    assert answer.pending_after(1.5), "a command was answered during the stall"
    resumed_at = time.monotonic()
    redis_proxy.resume()
    assert answer.wait() is True
    assert answer.returned_at is not None and answer.returned_at >= resumed_at
    client.close()


def test_redis_cut_fails_fast_and_restore_lets_it_back(redis_proxy):
    client = redis_client(redis_proxy, timeout=NEVER)
    assert client.ping() is True
    redis_proxy.cut()
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        client.ping()  # the reset connection
    with pytest.raises(redis.ConnectionError):
        client.ping()  # a new one, refused
    assert time.monotonic() - started < NEVER / 6
    redis_proxy.restore()
    assert client.ping() is True
    client.close()


# -- the proxy itself, against an echo server of the test's own ------------------------------


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except ConnectionResetError:
            pass  # the proxy was cut or closed


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", free_port()), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address  # type: ignore[misc]
    server.shutdown()
    server.server_close()
    thread.join()


def receive(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(65536, size - len(chunks)))
        if not chunk:
            break
        chunks += chunk
    return bytes(chunks)


def test_large_transfers_pass_whole_and_in_order(echo_server):
    payload = os.urandom(8 * 1024 * 1024)  # far beyond socket buffers: flow control must hold
    with TcpProxy(*echo_server) as proxy, socket.create_connection((proxy.host, proxy.port)) as s:
        s.settimeout(NEVER)
        sender = threading.Thread(target=s.sendall, args=(payload,))
        sender.start()
        assert receive(s, len(payload)) == payload
        sender.join()


def test_no_byte_passes_during_a_stall(echo_server):
    with TcpProxy(*echo_server) as proxy, socket.create_connection((proxy.host, proxy.port)) as s:
        s.settimeout(NEVER)
        s.sendall(b"before")
        assert receive(s, 6) == b"before"
        proxy.stall()
        s.sendall(b"during")
        s.settimeout(1.5)
        with pytest.raises(TimeoutError):
            s.recv(100)
        proxy.resume()
        s.settimeout(NEVER)
        assert receive(s, 6) == b"during"


def test_cut_resets_rather_than_closes(echo_server):
    with TcpProxy(*echo_server) as proxy, socket.create_connection((proxy.host, proxy.port)) as s:
        s.settimeout(NEVER)
        s.sendall(b"x")
        assert receive(s, 1) == b"x"
        proxy.cut()
        with pytest.raises(ConnectionResetError):
            s.recv(100)


def test_a_client_of_a_target_that_is_down_is_dropped_at_once():
    with socket.socket() as reserved:  # bound, not listening: connecting to it is refused
        reserved.bind(("127.0.0.1", 0))
        with TcpProxy(*reserved.getsockname()) as proxy:
            with socket.create_connection((proxy.host, proxy.port)) as s:
                s.settimeout(NEVER)
                with pytest.raises(ConnectionResetError):
                    s.recv(100)
            wait_until(lambda: proxy.active == 0, what="the dropped connection to be gone")


def open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_closing_leaves_no_thread_no_socket_and_frees_the_port(echo_server):
    threads, descriptors = set(threading.enumerate()), open_descriptors()
    proxy = TcpProxy(*echo_server).start()
    clients = [socket.create_connection((proxy.host, proxy.port)) for _ in range(3)]
    for client in clients:
        client.settimeout(NEVER)
        client.sendall(b"ping")
        assert receive(client, 4) == b"ping"
    proxy.stall()
    proxy.close()
    for client in clients:
        with pytest.raises(ConnectionResetError):
            client.recv(100)
        client.close()
    # The echo server's own handler threads and sockets go as they see the reset.
    wait_until(lambda: set(threading.enumerate()) <= threads, what="no thread left")
    wait_until(lambda: open_descriptors() <= descriptors, what="no descriptor left")
    with socket.socket() as probe:  # a server can listen there again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past earlier TIME_WAITs
        probe.bind((proxy.host, proxy.port))
        probe.listen()
