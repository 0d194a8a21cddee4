"""Private MariaDB servers for tests: one throwaway `mariadbd`, or a primary and a replica with
GTID binlog replication, each with its own data directory, socket and port on 127.0.0.1 (never
the machine's shared server on 3306).

From a test, with the fixtures of tests/conftest.py (one pair per session, started on first
use; `replication_pair` puts it back to a running, caught-up replica after each test):

    pytestmark = pytest.mark.mariadb

    def test_reads_follow_the_writes(replication_pair):
        settings = make_settings(replication_pair.primary_url, storage,   # .../portal
                                 database_replica_url=replication_pair.replica_url)
        ...a write through the application...
        replication_pair.wait_for_replica(replication_pair.primary_gtid(), timeout=30)
        with replication_pair.replication_paused():       # the replica lags from here on
            ...; replication_pair.wait_for_replica(gtid, timeout=1)  # -> ReplicaLagTimeout
        replication_pair.set_replication_delay(5)          # lags by 5 s (Seconds_Behind_Master)
        replication_pair.stop_replica(); ...; replication_pair.start_replica()  # down, back
        replication_pair.replica.kill()                    # crashed (start_replica() recovers)
        replication_pair.replica.freeze(); ...; replication_pair.replica.thaw()  # hung, back
        before = replication_pair.replica.statement_counts()   # root's SELECTs, writes, rows
        ...; assert (replication_pair.replica.statement_counts() - before)["update_commands"] == 0

Outside pytest: `with replication_pair() as pair: ...` or `with private_mariadb() as server:`.
The URLs connect as root without a password over TCP; the helpers here connect as another
user (HELPER_USER), and so does replication, so root's statement counts are the application's
alone. `SELECT @@last_gtid` on the connection that just committed, or primary_gtid(), names
the write to wait for. A pair starts with one empty database (`portal`), which the session's
tests share: a test that needs its own calls create_database(name). Servers are killed and
their directories removed when the block ends, failed or not; a server dies with the process
that started it (PR_SET_PDEATHSIG via setpriv), so even a killed test run leaves no orphan
(start servers from the main thread), and the next run removes the directories it left.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors

from tests.support.ports import free_ports
from tests.support.waiting import wait_until

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
SETPRIV = "/usr/bin/setpriv"
SHARED_SERVER_PORT = 3306
# The helpers here connect as this user (all privileges, no password), and so does replication,
# so that root's statement counts are those of the code under test alone.
HELPER_USER = "support"
START_TIMEOUT_SECONDS = 90  # generous: two servers starting on a busy 2-core machine
STOP_TIMEOUT_SECONDS = 60
PORT_ATTEMPTS = 5

# A throwaway server: small caches, no durability, nothing the tests do not need. The InnoDB
# file sizes must match between mariadb-install-db and mariadbd.
THROWAWAY_OPTIONS: dict[str, str | None] = {
    "bind-address": "127.0.0.1",
    "skip-name-resolve": None,
    "performance-schema": "OFF",
    "character-set-server": "utf8mb4",
    "collation-server": "utf8mb4_unicode_ci",
    "innodb-buffer-pool-size": "16M",
    "innodb-log-file-size": "8M",
    "innodb-log-buffer-size": "2M",
    "innodb-flush-log-at-trx-commit": "0",
    "innodb-doublewrite": "0",
    "innodb-use-native-aio": "0",  # io_setup() fails once many servers share the host's limit
    "innodb-buffer-pool-load-at-startup": "OFF",
    "innodb-buffer-pool-dump-at-shutdown": "OFF",
    "innodb-temp-data-file-path": "ibtmp1:4M:autoextend",
    "key-buffer-size": "1M",
    "aria-pagecache-buffer-size": "8M",
    "sync-binlog": "0",
    "sync-master-info": "0",
    "sync-relay-log": "0",
    "sync-relay-log-info": "0",
    "loose-feedback": "OFF",
    "userstat": "ON",  # per-user statement counts (statement_counts)
}

# Binlog replication with GTID, strict: a hole or a fork in a domain's sequence is an error.
REPLICATION_OPTIONS: dict[str, str | None] = {
    "log-bin": "binlog",
    "binlog-format": "ROW",
    "gtid-strict-mode": "ON",
    "relay-log": "relay",
}


class ReplicaLagTimeout(TimeoutError):
    """The replica did not apply a GTID within the bound."""


def unavailable_reason() -> str | None:
    """Why private servers cannot run here, or None when they can."""
    for binary in (MARIADBD, INSTALL_DB):
        if not os.access(binary, os.X_OK):
            return f"{binary} not found (Debian package mariadb-server)"
    return None


class MariaDBServer:
    """One `mariadbd` under `home` (data/, my.cnf, mariadb.sock, mariadbd.pid, error.log)."""

    def __init__(
        self, home: Path, *, server_id: int = 1, options: Mapping[str, str | None] = {}
    ) -> None:
        self.home = home
        self.server_id = server_id
        self.options = {**THROWAWAY_OPTIONS, **options}
        self.port = 0  # chosen at the first start
        self.process: subprocess.Popen[bytes] | None = None
        self._answered = False  # until it first answers, a port taken meanwhile can be changed
        self._frozen = False
        self._log_offset = 0

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    @property
    def error_log(self) -> Path:
        return self.home / "error.log"

    # -- lifecycle ---------------------------------------------------------------------------

    def initialize(self) -> None:
        """A fresh data directory: a copy of this process's template (made on first use)."""
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copytree(_template_datadir(), self.datadir)

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Starts the server and returns once it answers over TCP. The first start picks a free
        port of PORTAL_TEST_PORTS (another one if a parallel run took it); later starts keep it."""
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self, port: int | None = None) -> None:
        """Starts the process without waiting (wait_ready() waits), to start several at once;
        on `port` if given at the first start."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"{self} is already running")
        if not self.port:
            self.port = port or _private_ports(1)[0]
        self._write_config()
        self._log_offset = self.error_log.stat().st_size if self.error_log.exists() else 0
        command = [MARIADBD, f"--defaults-file={self.home / 'my.cnf'}"]
        if os.geteuid() == 0:
            command.append("--user=root")  # mariadbd refuses to run as root without it
        if os.access(SETPRIV, os.X_OK):
            # Killed with the process that started it, even if that one dies by SIGKILL.
            command = [SETPRIV, "--pdeathsig", "KILL", "--", *command]
        with (self.home / "console.log").open("ab") as console:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the test run is not sent to it directly
            )  # fmt: skip
        self._frozen = False

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS, _attempt: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                log = self._new_log()
                retry = not self._answered and _attempt < PORT_ATTEMPTS
                if retry and "Address already in use" in log:
                    self.port = 0  # a parallel run took the port between choice and bind
                    self.spawn()
                    return self.wait_ready(deadline - time.monotonic(), _attempt + 1)
                raise RuntimeError(f"{self} exited with {self.process.returncode}:\n{log}")
            try:
                self.connect(connect_timeout=2, read_timeout=5).close()
                self._answered = True
                return
            except pymysql.OperationalError:
                pass
            if time.monotonic() >= deadline:
                log = self._new_log()
                raise RuntimeError(f"{self} did not answer within {timeout:.0f} s:\n{log}")
            time.sleep(0.05)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """A clean shutdown (SIGTERM), killed if it takes longer than `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Ends the process at once (SIGKILL), as a crash would."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        self.process.wait()
        self._frozen = False

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its connections and accepts new ones but answers nothing."""
        assert self.running, f"{self} is not running"
        os.kill(self.pid, signal.SIGSTOP)
        self._frozen = True
        # the signal is delivered to each thread as it is next scheduled: until all of them are
        # stopped, one already running can still answer a query sent after this call
        wait_until(self._all_threads_stopped, interval=0.001, what=f"{self}'s threads to stop")

    def _all_threads_stopped(self) -> bool:
        tasks = Path(f"/proc/{self.pid}/task")
        states = []
        for task in tasks.iterdir():
            with contextlib.suppress(FileNotFoundError):  # a thread that has just ended
                # the state is the field after the command's closing parenthesis
                states.append((task / "stat").read_text().rpartition(")")[2].split()[0])
        return bool(states) and all(state in "tT" for state in states)

    def thaw(self) -> None:
        """SIGCONT after freeze()."""
        if self._frozen and self.running:
            os.kill(self.pid, signal.SIGCONT)
        self._frozen = False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def frozen(self) -> bool:
        return self._frozen

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    # -- clients -------------------------------------------------------------------------------

    def url(self, database: str | None = None, user: str = "root") -> str:
        """The SQLAlchemy URL of `database` (or of the server) over TCP, as root by default."""
        return f"mysql+pymysql://{user}@127.0.0.1:{self.port}/{database or ''}"

    def connect(
        self, database: str | None = None, *, user: str = HELPER_USER, **options: Any
    ) -> pymysql.Connection:
        """A pymysql connection over TCP, autocommit, read timeout 60 s unless given; as the
        helper user by default, so that it does not count as root's."""
        values: dict[str, Any] = {"connect_timeout": 10, "read_timeout": 60, "autocommit": True}
        values.update(options)
        return pymysql.connect(
            host="127.0.0.1", port=self.port, user=user, password="", database=database,
            **values,
        )  # fmt: skip

    def query(self, sql: str, args: Any = None, **options: Any) -> list[tuple[Any, ...]]:
        """Runs one statement on a new connection and returns its rows."""
        connection = self.connect(**options)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def scalar(self, sql: str, args: Any = None, **options: Any) -> Any:
        rows = self.query(sql, args, **options)
        return rows[0][0] if rows else None

    def statement_counts(self, user: str = "root") -> Counter[str]:
        """What `user`'s clients have run on this server since it started (its USER_STATISTICS):
        `select_commands`, `update_commands` (every INSERT, UPDATE, DELETE...), `other_commands`,
        `rows_read`, `rows_inserted`, `rows_updated`, `rows_deleted`. Neither replication nor
        the helpers here (another user) count; SQLAlchemy's queries on each new connection do,
        so compare before and after on a warm pool."""
        connection = self.connect(cursorclass=pymysql.cursors.DictCursor)
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT SELECT_COMMANDS, UPDATE_COMMANDS, OTHER_COMMANDS, ROWS_READ,"
                    " ROWS_INSERTED, ROWS_UPDATED, ROWS_DELETED"
                    " FROM information_schema.USER_STATISTICS WHERE USER = %s",
                    (user,),
                )
                row = cursor.fetchone() or {}
        finally:
            connection.close()
        return Counter({name.lower(): int(value) for name, value in row.items()})

    # -- inside ----------------------------------------------------------------------------------

    def _write_config(self) -> None:
        if self.port == SHARED_SERVER_PORT:
            raise RuntimeError("a private server must not take the shared server's port")
        lines = ["[mariadbd]"]
        lines += [
            f"datadir={self.datadir}",
            f"socket={self.home / 'mariadb.sock'}",
            f"pid-file={self.home / 'mariadbd.pid'}",
            f"log-error={self.error_log}",
            f"port={self.port}",
            f"server-id={self.server_id}",
        ]
        for name, value in self.options.items():
            if name in ("log-bin", "relay-log") and value:
                value = str(self.home / value)  # next to the data, removed with it
            lines.append(name if value is None else f"{name}={value}")
        (self.home / "my.cnf").write_text("\n".join(lines) + "\n")

    def _new_log(self) -> str:
        if not self.error_log.exists():
            return "(no error log)"
        with self.error_log.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")[-4000:]

    def __repr__(self) -> str:
        return f"mariadbd(server_id={self.server_id}, port={self.port}, home={self.home})"


class ReplicationPair:
    """A primary and a replica of it (MASTER_USE_GTID=slave_pos) holding `database`."""

    def __init__(self, home: Path, database: str = "portal") -> None:
        self.database = database
        self.primary = MariaDBServer(home / "primary", server_id=1, options=REPLICATION_OPTIONS)
        self.replica = MariaDBServer(home / "replica", server_id=2, options=REPLICATION_OPTIONS)
        self.started_in: float | None = None  # seconds, from nothing to a replicating pair

    @property
    def primary_url(self) -> str:
        return self.primary.url(self.database)

    @property
    def replica_url(self) -> str:
        return self.replica.url(self.database)

    def start(self) -> None:
        began = time.monotonic()
        self.primary.initialize()
        self.replica.initialize()
        primary_port, replica_port = _private_ports(2)
        self.primary.spawn(primary_port)
        self.replica.spawn(replica_port)
        self.primary.wait_ready()
        self.replica.wait_ready()
        self.replica.query(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%s, MASTER_USER=%s,"
            " MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
            (self.primary.port, HELPER_USER),
        )
        self.replica.query("START SLAVE")
        self.create_database(self.database)
        self.started_in = time.monotonic() - began

    def create_database(self, name: str) -> str:
        """Creates `name` on the primary (utf8mb4) and returns once the replica has it too."""
        self.primary.query(
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        self.wait_for_replica(self.primary_gtid())
        return name

    def close(self) -> None:
        for server in (self.replica, self.primary):
            server.kill()  # a throwaway: no clean shutdown to wait for

    # -- GTIDs -----------------------------------------------------------------------------------

    def primary_gtid(self) -> str:
        """The primary's binlog position as a GTID list (`@@gtid_binlog_pos`), which includes
        every write committed so far; on the connection that wrote, `SELECT @@last_gtid` names
        that write alone."""
        return str(self.primary.scalar("SELECT @@gtid_binlog_pos"))

    def wait_for_replica(self, gtid: str | None = None, timeout: float = 30) -> None:
        """Returns once the replica has applied `gtid` (the primary's current position when not
        given); ReplicaLagTimeout after `timeout` seconds (MASTER_GTID_WAIT on the replica)."""
        gtid = self.primary_gtid() if gtid is None else gtid
        outcome = self.replica.scalar(
            "SELECT MASTER_GTID_WAIT(%s, %s)", (gtid, timeout), read_timeout=timeout + 30
        )
        if outcome == -1:
            raise ReplicaLagTimeout(f"the replica did not reach {gtid} within {timeout:g} s")
        if outcome != 0:
            raise RuntimeError(f"MASTER_GTID_WAIT({gtid!r}) answered {outcome!r}")

    def replica_status(self) -> dict[str, Any]:
        """SHOW SLAVE STATUS of the replica, by column name (e.g. Seconds_Behind_Master)."""
        connection = self.replica.connect(cursorclass=pymysql.cursors.DictCursor)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW SLAVE STATUS")
                return dict(cursor.fetchone() or {})
        finally:
            connection.close()

    # -- faults --------------------------------------------------------------------------------

    def pause_replication(self) -> None:
        """Stops the replica's SQL thread: it still receives the primary's events but applies
        none, so it lags by every write from now on (Seconds_Behind_Master is NULL then)."""
        self.replica.query("STOP SLAVE SQL_THREAD")

    def resume_replication(self) -> None:
        self.replica.query("START SLAVE SQL_THREAD")

    @contextmanager
    def replication_paused(self) -> Iterator[None]:
        self.pause_replication()
        try:
            yield
        finally:
            self.resume_replication()

    def set_replication_delay(self, seconds: int) -> None:
        """Makes the replica apply each event `seconds` after the primary committed it
        (MASTER_DELAY; 0 ends the delay): a lag that Seconds_Behind_Master reports."""
        self.replica.query("STOP SLAVE")
        self.replica.query("CHANGE MASTER TO MASTER_DELAY=%s", (seconds,))
        self.replica.query("START SLAVE")

    def stop_replica(self) -> None:
        """Shuts the replica down: its port refuses connections until start_replica()."""
        self.replica.stop()

    def start_replica(self) -> None:
        """Starts the replica again on the same port; it resumes replicating by itself."""
        self.replica.start()
        self.wait_replicating()

    def wait_replicating(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        def running() -> bool:
            status = self.replica_status()
            threads = (status.get("Slave_IO_Running"), status.get("Slave_SQL_Running"))
            return threads == ("Yes", "Yes")

        wait_until(running, timeout=timeout, interval=0.1, what="the replica to replicate")

    def heal(self) -> None:
        """Back to two running servers, replication not delayed and caught up (after a test)."""
        for server in (self.primary, self.replica):
            server.thaw()
        if not self.primary.running:
            self.primary.start()
        if not self.replica.running:
            self.replica.start()
        if self.replica_status().get("SQL_Delay"):
            self.set_replication_delay(0)
        self.replica.query("START SLAVE")  # a no-op for the threads already running
        self.wait_replicating()
        self.wait_for_replica()


@contextmanager
def private_mariadb(**options: str | None) -> Iterator[MariaDBServer]:
    """One private server (THROWAWAY_OPTIONS plus `options`) for the block."""
    home = _new_home("portal-mariadb-")
    server = MariaDBServer(home, options=options)
    try:
        server.initialize()
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def replication_pair(database: str = "portal") -> Iterator[ReplicationPair]:
    """A primary and its replica, both holding an empty `database`, for the block."""
    home = _new_home("portal-mariadb-")
    pair = ReplicationPair(home, database)
    try:
        pair.start()
        yield pair
    finally:
        pair.close()
        shutil.rmtree(home, ignore_errors=True)


@functools.cache
def _template_datadir() -> Path:
    """A data directory made by mariadb-install-db once per process (the slow part of a start)
    and copied for each server; removed when the process exits."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    home = _new_home("portal-mariadb-template-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    config = home / "install.cnf"
    options = (
        name if value is None else f"{name}={value}" for name, value in THROWAWAY_OPTIONS.items()
    )
    config.write_text("[mariadbd]\n" + "\n".join(options) + "\n")
    helper = home / "helper-user.sql"
    # The bootstrap runs without grant tables loaded, so no CREATE USER: root's row, copied.
    # Root's row for this host's name goes: skip-name-resolve would warn about it at each start.
    helper.write_text(
        f"INSERT INTO mysql.global_priv (Host, User, Priv) SELECT Host, '{HELPER_USER}', Priv"
        " FROM mysql.global_priv WHERE Host = '127.0.0.1' AND User = 'root';\n"
        "DELETE FROM mysql.global_priv WHERE Host NOT IN ('localhost', '127.0.0.1', '::1');\n"
        "DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost', '127.0.0.1', '::1');\n"
    )
    command = [
        INSTALL_DB, f"--defaults-file={config}", f"--datadir={home / 'data'}",
        "--auth-root-authentication-method=normal",  # root@127.0.0.1 without a password
        "--skip-test-db", "--skip-name-resolve", f"--extra-file={helper}",
        *(["--user=root"] if os.geteuid() == 0 else []),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, timeout=START_TIMEOUT_SECONDS)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")[-4000:]
        raise RuntimeError(f"mariadb-install-db failed ({done.returncode}):\n{output}")
    return home / "data"


HOME_OWNER_FILE = "owner.pid"


def _new_home(prefix: str) -> Path:
    """A new directory in the temporary directory, marked with this process's id, after removing
    those whose process is gone (a test run killed before its clean-up)."""
    for stale in Path(tempfile.gettempdir()).glob("portal-mariadb-*"):
        with contextlib.suppress(OSError, ValueError):
            owner = int((stale / HOME_OWNER_FILE).read_text())
            if not _alive(owner):
                shutil.rmtree(stale, ignore_errors=True)
    home = Path(tempfile.mkdtemp(prefix=prefix))
    (home / HOME_OWNER_FILE).write_text(str(os.getpid()))
    return home


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _private_ports(count: int) -> list[int]:
    ports = free_ports(count)
    if SHARED_SERVER_PORT in ports:
        raise RuntimeError("PORTAL_TEST_PORTS includes 3306, the shared server's port")
    return ports
