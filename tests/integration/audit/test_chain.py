"""The hash chain: intact after real traffic, any tampering found (and named) by
`portal audit verify`, sealed in the order entries commit, and linear under concurrent writers
and sealers."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
import sqlalchemy as sa

from kernel.clock import utcnow
from models.audit import use_cases
from models.audit.queries import append, append_many
from models.audit.tables import AuditLog
from models.audit.use_cases import seal_now, verify
from portal.ops import cli
from portal.runtime import Services
from portal.runtime.background import Sealer
from security.audit import AuditRecord
from tests.conftest import TEST_SECRET, TEST_STORAGE_KEY, Backend, checkpoint_path
from tests.support.audit import audit_entries


def _traffic(client, auth) -> None:
    client.post("/api/auth/login", json={"email": "patient1@example.com", "password": "nope-nope"})
    client.get("/api/auth/me", headers=auth("patient1@example.com"))
    client.post("/api/consents", json={"type": "telehealth"}, headers=auth("patient1@example.com"))
    client.get("/api/consents", headers=auth("patient1@example.com"))
    client.get("/api/admin/audit-logs", headers=auth("admin@example.com"))


def _verify(services: Services):
    with services.db.new_session() as session:
        return verify(session, services.audit_chain)


def _cli_verify(backend: Backend, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("STORAGE_ENCRYPTION_KEY", TEST_STORAGE_KEY)
    monkeypatch.setenv("JWT_SECRET", TEST_SECRET)
    monkeypatch.setenv("STORAGE_PATH", str(backend.storage_path))
    monkeypatch.setenv("AUDIT_CHECKPOINT", f"file://{checkpoint_path(backend.storage_path)}")
    code = cli.main(["audit", "verify"])
    return code, capsys.readouterr().out


def test_the_chain_of_real_traffic_verifies(client, auth, services, backend, monkeypatch, capsys):
    _traffic(client, auth)
    entries = audit_entries(services)
    assert len(entries) == 5
    assert entries[0].prev_hash is None
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert _verify(services).intact
    code, out = _cli_verify(backend, monkeypatch, capsys)
    assert code == 0
    assert "audit chain intact: 5 entries" in out


def _tamper(services: Services, statement: sa.Executable) -> None:
    with services.db.engine.begin() as connection:
        connection.execute(statement)


def test_an_altered_entry_is_reported(client, auth, services, backend, monkeypatch, capsys):
    _traffic(client, auth)
    third = audit_entries(services)[2]
    _tamper(
        services,
        sa.update(AuditLog).where(AuditLog.id == third.id).values(status="denied"),
    )
    report = _verify(services)
    assert (report.broken_at, report.entries) == (third.id, 2)
    assert "content" in (report.problem or "")
    code, out = _cli_verify(backend, monkeypatch, capsys)
    assert code == 1
    assert f"BROKEN at entry {third.id}" in out


def test_a_removed_entry_is_reported_at_the_next_one(client, auth, services):
    _traffic(client, auth)
    entries = audit_entries(services)
    _tamper(services, sa.delete(AuditLog).where(AuditLog.id == entries[1].id))
    report = _verify(services)
    assert report.broken_at == entries[2].id
    assert "previous" in (report.problem or "")


def test_a_rehashed_forgery_still_breaks_the_next_link(client, auth, services):
    """Recomputing the altered entry's own hash does not help: the next entry names the old one."""
    from models.audit.rules import entry_hash

    _traffic(client, auth)
    entries = audit_entries(services)
    forged = entries[1]
    forged.user_id = "someone-else"
    _tamper(
        services,
        sa.update(AuditLog)
        .where(AuditLog.id == forged.id)
        .values(
            user_id=forged.user_id,
            hash=entry_hash(forged, forged.prev_hash, services.audit_chain.keys.entries),
        ),
    )
    assert _verify(services).broken_at == entries[2].id


def test_removing_the_newest_entries_is_reported(client, auth, services):
    _traffic(client, auth)
    entries = audit_entries(services)
    _tamper(services, sa.delete(AuditLog).where(AuditLog.id >= entries[3].id))
    report = _verify(services)
    assert not report.intact
    assert report.broken_at == entries[-1].id
    assert report.entries == 3


def test_concurrent_writers_and_sealers_build_one_linear_chain(services: Services):
    writers, per_writer, sealers = 8, 15, 2
    errors: list[BaseException] = []
    start = threading.Barrier(writers + sealers)
    writing = threading.Event()
    writing.set()

    def write(number: int) -> None:
        try:
            start.wait()
            for index in range(per_writer):
                record = AuditRecord(
                    action="READ_APPOINTMENT",
                    resource="appointments",
                    status="success",
                    resource_id=f"{number}-{index}",
                )
                services.db.run(lambda session, r=record: append(session, r))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def keep_sealing() -> None:
        try:
            start.wait()
            while writing.is_set():
                seal_now(services.db, services.audit_chain)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    helpers = [threading.Thread(target=keep_sealing) for _ in range(sealers)]
    for thread in threads + helpers:
        thread.start()
    for thread in threads:
        thread.join()
    writing.clear()
    for thread in helpers:
        thread.join()
    assert errors == []
    entries = audit_entries(services)
    assert len(entries) == writers * per_writer
    assert sorted(e.seq for e in entries) == list(range(1, writers * per_writer + 1))
    assert len({e.prev_hash for e in entries}) == len(entries)  # no two sealed onto one head
    report = _verify(services)
    assert report.intact, report
    assert (report.entries, report.unsealed) == (writers * per_writer, 0)


def _entry(services: Services, entry_id: int, resource_id: str) -> None:
    """An entry with a chosen id: what a request's entry looks like when its transaction
    commits after later-numbered entries were already sealed."""
    with services.db.engine.begin() as connection:
        connection.execute(
            sa.insert(AuditLog).values(
                id=entry_id, timestamp=utcnow(), action="READ_APPOINTMENT",
                resource="appointments", resource_id=resource_id, status="success",
            )
        )  # fmt: skip


def test_an_entry_committed_late_is_sealed_after_the_chain_and_verifies(services: Services):
    _entry(services, 1000, "first committed")
    assert seal_now(services.db, services.audit_chain) == 1
    _entry(services, 500, "committed later, numbered lower")
    with services.db.new_session() as session:
        assert verify(session, services.audit_chain).unsealed == 1
    assert seal_now(services.db, services.audit_chain) == 1
    assert (
        seal_now(services.db, services.audit_chain) == 0
    )  # nothing left: sealing again changes nothing
    by_seq = sorted(audit_entries(services), key=lambda e: e.seq or 0)
    assert [e.id for e in by_seq] == [1000, 500]
    assert by_seq[1].prev_hash == by_seq[0].hash
    report = _verify(services)
    assert report.intact and (report.entries, report.unsealed) == (2, 0)


def test_a_backlog_of_several_slices_is_sealed_in_one_seal(services: Services, monkeypatch):
    monkeypatch.setattr(use_cases, "SEAL_BATCH", 4)
    seal_now(services.db, services.audit_chain)
    # two full slices and a short one
    records = [AuditRecord("READ_APPOINTMENT", "appointments", "success") for _ in range(10)]
    with services.db.engine.begin() as connection:
        append_many(connection, records)
    assert seal_now(services.db, services.audit_chain) == 10
    assert seal_now(services.db, services.audit_chain) == 0
    report = _verify(services)
    assert report.intact and report.unsealed == 0, report


def test_a_seal_with_nothing_to_seal_reads_one_row_and_locks_nothing(services: Services):
    seal_now(services.db, services.audit_chain)
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()).upper())

    sa.event.listen(services.db.engine, "before_cursor_execute", record)
    try:
        assert seal_now(services.db, services.audit_chain) == 0
    finally:
        sa.event.remove(services.db.engine, "before_cursor_execute", record)
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 1 and "AUDIT_LOGS" in reads[0] and "LIMIT" in reads[0], statements
    assert not any("FOR UPDATE" in s or s.startswith("UPDATE") for s in statements), statements


def test_swapping_two_entries_places_is_reported(client, auth, services):
    _traffic(client, auth)
    first, second = audit_entries(services)[1:3]
    _tamper(services, sa.update(AuditLog).where(AuditLog.id == first.id).values(seq=-1))
    _tamper(services, sa.update(AuditLog).where(AuditLog.id == second.id).values(seq=first.seq))
    _tamper(services, sa.update(AuditLog).where(AuditLog.id == first.id).values(seq=second.seq))
    assert not _verify(services).intact


def test_the_sealer_seals_on_its_interval_and_once_more_when_stopped():
    calls: list[float] = []
    ticked = threading.Event()

    def seal() -> int:
        calls.append(time.monotonic())
        ticked.set()
        return 0

    sealer = Sealer(seal, interval=0.01).start()
    assert ticked.wait(5)
    sealer.stop()
    after_stop = len(calls)
    time.sleep(0.05)
    assert len(calls) == after_stop >= 2  # the ticks, then the last seal of `stop`, then none


def test_a_failing_seal_is_logged_and_retried_at_the_next_tick(caplog):
    attempts: list[int] = []

    def seal() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database away")
        return 0

    sealer = Sealer(seal, interval=0.01).start()
    deadline = time.monotonic() + 5
    while len(attempts) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    sealer.stop()
    assert len(attempts) >= 2
    assert "sealing the audit chain failed" in caplog.text


def test_the_application_cannot_change_or_delete_entries(client, auth, services):
    from models.audit.errors import AppendOnlyViolation

    _traffic(client, auth)
    for change in ("update", "delete"):
        with services.db.new_session() as session:
            entry = session.scalars(sa.select(AuditLog)).first()
            if change == "update":
                entry.status = "success"
                entry.details = {"forged": True}
            else:
                session.delete(entry)
            with pytest.raises(AppendOnlyViolation):
                session.flush()
    assert _verify(services).intact


def test_entries_without_a_subject_keep_their_hash_and_a_changed_subject_is_found(
    client, auth, services
):
    """The subject is hashed only when an entry has one: entries sealed before the column
    existed (all NULL) verify as they were sealed; giving one a subject, or changing a
    subject, breaks the chain there."""
    _traffic(client, auth)
    entries = audit_entries(services)
    login, consent = entries[0], entries[2]
    assert login.subject is None
    assert consent.subject == str(auth.user("patient1@example.com").id)
    assert _verify(services).intact
    for entry, subject in ((login, consent.subject), (consent, None)):
        _tamper(
            services, sa.update(AuditLog).where(AuditLog.id == entry.id).values(subject=subject)
        )
        report = _verify(services)
        assert (report.broken_at, report.problem) == (
            entry.id,
            "its content does not match its hash",
        )
        original = entry.subject
        _tamper(
            services, sa.update(AuditLog).where(AuditLog.id == entry.id).values(subject=original)
        )
        assert _verify(services).intact
