"""tests/support/mariadb.py: a private primary and replica that replicate with GTID, a replica
that can be made to lag, go down, hang and come back, and no trace of either afterwards."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pymysql
import pytest
import sqlalchemy as sa

from tests.conftest import mysql_server_url, private_mariadb_or_skip
from tests.support.mariadb import (
    SHARED_SERVER_PORT,
    MariaDBServer,
    ReplicaLagTimeout,
    ReplicationPair,
    private_mariadb,
)
from tests.support.ports import port_range
from tests.support.waiting import wait_until

pytestmark = pytest.mark.mariadb


@pytest.fixture
def table(replication_pair: ReplicationPair) -> str:
    """A new table `portal.<name>` (id, note) on both servers."""
    name = f"notes_{uuid.uuid4().hex[:8]}"
    replication_pair.primary.query(
        f"CREATE TABLE portal.{name} (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB"
    )
    replication_pair.wait_for_replica()
    return f"portal.{name}"


def write(pair: ReplicationPair, sql: str) -> str:
    """Runs a write on the primary and returns its GTID (@@last_gtid, as application code
    reads it on the connection that committed)."""
    connection = pair.primary.connect(user="root")
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.execute("SELECT @@last_gtid")
            row = cursor.fetchone()
            assert row is not None
            return str(row[0])
    finally:
        connection.close()


def notes(server: MariaDBServer, table: str) -> list[tuple[int, str]]:
    return [(row[0], row[1]) for row in server.query(f"SELECT id, note FROM {table} ORDER BY id")]


def test_a_write_on_the_primary_appears_on_the_replica(replication_pair, table):
    gtid = write(replication_pair, f"INSERT INTO {table} VALUES (1, 'booked')")
    assert gtid == replication_pair.primary_gtid()  # the newest write is the binlog position
    domain, server_id, sequence = gtid.split("-")
    assert (domain, server_id) == ("0", "1") and int(sequence) > 0
    replication_pair.wait_for_replica(gtid, timeout=30)
    assert notes(replication_pair.replica, table) == [(1, "booked")]
    status = replication_pair.replica_status()
    assert status["Using_Gtid"] == "Slave_Pos"
    assert gtid in replication_pair.replica.scalar("SELECT @@gtid_slave_pos")


def test_the_urls_reach_the_database_on_each_server_through_sqlalchemy(replication_pair):
    for url, server_id in ((replication_pair.primary_url, 1), (replication_pair.replica_url, 2)):
        assert url.startswith("mysql+pymysql://root@127.0.0.1:") and url.endswith("/portal")
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            row = connection.execute(sa.text("SELECT DATABASE(), @@server_id, @@port")).one()
        engine.dispose()
        assert tuple(row) == ("portal", server_id, sa.engine.make_url(url).port)


def test_wait_for_replica_times_out_while_the_sql_thread_is_stopped(replication_pair, table):
    with replication_pair.replication_paused():
        gtid = write(replication_pair, f"INSERT INTO {table} VALUES (1, 'while lagging')")
        started = time.monotonic()
        with pytest.raises(ReplicaLagTimeout):
            replication_pair.wait_for_replica(gtid, timeout=1)
        assert time.monotonic() - started >= 0.9
        assert notes(replication_pair.replica, table) == []
        assert replication_pair.replica_status()["Slave_SQL_Running"] == "No"
    replication_pair.wait_for_replica(gtid, timeout=30)
    assert notes(replication_pair.replica, table) == [(1, "while lagging")]


def test_a_delayed_replica_applies_writes_only_after_its_delay(replication_pair, table):
    replication_pair.set_replication_delay(2)
    started = time.monotonic()
    gtid = write(replication_pair, f"INSERT INTO {table} VALUES (1, 'delayed')")
    with pytest.raises(ReplicaLagTimeout):
        replication_pair.wait_for_replica(gtid, timeout=0.5)
    assert replication_pair.replica_status()["SQL_Delay"] == 2
    replication_pair.wait_for_replica(gtid, timeout=30)
    assert time.monotonic() - started >= 1  # the primary's timestamps have whole seconds
    assert notes(replication_pair.replica, table) == [(1, "delayed")]


def test_a_stopped_replica_refuses_connections_and_catches_up_once_started(replication_pair, table):
    port = replication_pair.replica.port
    replication_pair.stop_replica()
    assert not replication_pair.replica.running
    with pytest.raises(pymysql.OperationalError, match="refused"):
        replication_pair.replica.connect()
    gtid = write(replication_pair, f"INSERT INTO {table} VALUES (1, 'while down')")
    replication_pair.start_replica()
    assert replication_pair.replica.port == port  # the application's URL still holds
    replication_pair.wait_for_replica(gtid, timeout=30)
    assert notes(replication_pair.replica, table) == [(1, "while down")]


def test_a_killed_replica_recovers_and_catches_up(replication_pair, table):
    write(replication_pair, f"INSERT INTO {table} VALUES (1, 'before the crash')")
    replication_pair.wait_for_replica()
    replication_pair.replica.kill()
    gtid = write(replication_pair, f"INSERT INTO {table} VALUES (2, 'after the crash')")
    replication_pair.start_replica()
    replication_pair.wait_for_replica(gtid, timeout=30)
    assert [row[0] for row in notes(replication_pair.replica, table)] == [1, 2]


def test_a_frozen_replica_hangs_its_clients_until_thawed(replication_pair):
    connection = replication_pair.replica.connect(read_timeout=1)
    replication_pair.replica.freeze()
    started = time.monotonic()
    with pytest.raises(pymysql.OperationalError, match="timed out"), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert time.monotonic() - started >= 0.9
    replication_pair.replica.thaw()
    assert replication_pair.replica.scalar("SELECT 1", read_timeout=30) == 1


def test_statement_counts_tell_what_roots_clients_ran_and_not_replication(replication_pair, table):
    replica, primary = replication_pair.replica, replication_pair.primary
    before_replica, before_primary = replica.statement_counts(), primary.statement_counts()
    gtid = write(replication_pair, f"INSERT INTO {table} VALUES (1, 'on the primary')")
    replication_pair.wait_for_replica(gtid)
    assert replica.statement_counts() == before_replica  # applied rows are not root's
    after_primary = primary.statement_counts()
    assert after_primary["update_commands"] - before_primary["update_commands"] == 1
    assert after_primary["rows_inserted"] - before_primary["rows_inserted"] == 1

    as_root = replica.connect(user="root")
    with as_root.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        cursor.execute(f"SELECT * FROM {table}")
    as_root.close()
    reads = replica.statement_counts() - before_replica
    assert reads["select_commands"] == 2 and reads["update_commands"] == 0


def test_the_pair_is_private_and_never_the_shared_server(replication_pair):
    ports = port_range()
    for server in (replication_pair.primary, replication_pair.replica):
        assert server.port in ports and server.port != SHARED_SERVER_PORT
        datadir = Path(server.scalar("SELECT @@datadir"))
        assert datadir.resolve() == server.datadir.resolve()
        assert server.scalar("SELECT @@bind_address") == "127.0.0.1"
    marker = replication_pair.create_database(f"portal_private_{uuid.uuid4().hex[:8]}")
    assert replication_pair.replica.scalar("SHOW DATABASES LIKE %s", (marker,)) == marker
    shared = mysql_server_url()
    if shared is not None:
        engine = sa.create_engine(shared)
        with engine.connect() as connection:
            found = connection.exec_driver_sql("SHOW DATABASES LIKE %s", (marker,)).all()
        engine.dispose()
        assert found == []
    replication_pair.primary.query(f"DROP DATABASE {marker}")


def test_a_private_server_is_gone_after_its_block_even_when_the_block_fails():
    private_mariadb_or_skip()
    with pytest.raises(RuntimeError, match="the test failed"), private_mariadb() as server:
        assert server.scalar("SELECT @@server_id") == 1
        process, home, port = server.process, server.home, server.port
        raise RuntimeError("the test failed")
    assert process is not None and process.poll() is not None
    assert not home.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
    wait_until(lambda: not _listening(port), timeout=10, what=f"port {port} to be released")


def _listening(port: int) -> bool:
    try:
        pymysql.connect(host="127.0.0.1", port=port, user="root", connect_timeout=2).close()
    except pymysql.OperationalError:
        return False
    return True
