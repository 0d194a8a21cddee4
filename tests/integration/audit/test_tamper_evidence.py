"""Tamper evidence against someone who can write to the database but holds neither the chain's
key nor the checkpoint log: `portal audit verify` finds a removed tail with the head fixed up, a
chain recomputed after an edit, a database put back to an earlier state, and the oldest entries
removed behind retention's back; an intact chain matches its checkpoints; no stored value, and
no failing checkpoint log, stops the sealer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from models.audit import use_cases
from models.audit.queries import append
from models.audit.rules import entry_hash, legacy_entry_hash, parse_checkpoint
from models.audit.tables import AuditChainHead, AuditLog
from models.audit.use_cases import AuditChain, seal_now, verify, verify_chain
from portal.ops import cli
from portal.runtime import Services
from portal.runtime.background import Sealer
from security.audit import AuditRecord
from tests.conftest import TEST_SECRET, TEST_STORAGE_KEY, Backend, checkpoint_path
from tests.support.audit import audit_entries

PATIENT = "patient1@example.com"


def _traffic(client, auth, services: Services, requests: int = 3) -> list[AuditLog]:
    """`requests` audited reads, then a seal (and its checkpoint); every entry, sealed."""
    for _ in range(requests):
        assert client.get("/api/consents", headers=auth(PATIENT)).status_code == 200
    return audit_entries(services)


def _verify(services: Services):
    return verify_chain(services.db, services.audit_chain)


def _cli_verify(backend: Backend, monkeypatch, capsys) -> tuple[int, str]:
    for name, value in {
        "DATABASE_URL": backend.url,
        "APP_ENV": "test",
        "STORAGE_ENCRYPTION_KEY": TEST_STORAGE_KEY,
        "JWT_SECRET": TEST_SECRET,
        "STORAGE_PATH": str(backend.storage_path),
        "AUDIT_CHECKPOINT": f"file://{checkpoint_path(backend.storage_path)}",
    }.items():
        monkeypatch.setenv(name, value)
    code = cli.main(["audit", "verify"])
    return code, capsys.readouterr().out


def _tamper(services: Services, *statements: sa.Executable) -> None:
    with services.db.engine.begin() as connection:
        for statement in statements:
            connection.execute(statement)


def _rewrite_from(
    services: Services,
    victim: AuditLog,
    change: dict[str, Any],
    hash_of: Callable[[AuditLog, str | None], str],
) -> None:
    """What an attacker with write access does: edit `victim`, recompute every hash from it to
    the end of the chain with `hash_of`, and move the head to the new last hash."""
    chain = sorted(audit_entries(services), key=lambda e: e.seq or 0)
    start = next(i for i, e in enumerate(chain) if e.id == victim.id)
    prev = chain[start].prev_hash
    statements: list[sa.Executable] = []
    for entry in chain[start:]:
        if entry.id == victim.id:
            for name, value in change.items():
                setattr(entry, name, value)
        entry.prev_hash, entry.hash = prev, hash_of(entry, prev)
        prev = entry.hash
        values = {**(change if entry.id == victim.id else {}), "prev_hash": entry.prev_hash}
        statements.append(
            sa.update(AuditLog).where(AuditLog.id == entry.id).values(**values, hash=entry.hash)
        )
    statements.append(sa.update(AuditChainHead).values(last_hash=prev))
    _tamper(services, *statements)


def test_an_intact_chain_matches_its_checkpoints(
    client, auth, services, backend, monkeypatch, capsys
):
    _traffic(client, auth, services)
    entries = _traffic(client, auth, services)
    lines = checkpoint_path(backend.storage_path).read_text().splitlines()
    keys = services.audit_chain.keys
    checkpoints = [parse_checkpoint(line, keys.checkpoints) for line in lines]
    assert [(c.seq, c.hash) for c in checkpoints if c] == [
        (entries[2].seq, entries[2].hash),
        (entries[-1].seq, entries[-1].hash),
    ]
    assert all(e.hash == entry_hash(e, e.prev_hash, keys.entries) for e in entries)
    report = _verify(services)
    assert report.intact, report
    assert (report.entries, report.checkpoints) == (len(entries), 2)
    code, out = _cli_verify(backend, monkeypatch, capsys)
    assert code == 0, out
    assert f"audit chain intact: {len(entries)} entries" in out
    assert "matches its 2 checkpoints" in out


def test_removing_the_newest_entries_and_fixing_up_the_head_is_found(
    client, auth, services, backend, monkeypatch, capsys
):
    entries = _traffic(client, auth, services, requests=5)
    kept = entries[-3]
    _tamper(
        services,
        sa.delete(AuditLog).where(AuditLog.seq > kept.seq),
        sa.update(AuditChainHead).values(last_id=kept.id, last_seq=kept.seq, last_hash=kept.hash),
    )
    report = _verify(services)
    assert not report.intact
    assert f"up to seq {entries[-1].seq}, but it ends at seq {kept.seq}" in (report.problem or "")
    assert "removed" in (report.problem or "")
    code, out = _cli_verify(backend, monkeypatch, capsys)
    assert code == 1
    assert "audit chain BROKEN" in out


def test_an_edit_with_the_chain_recomputed_without_the_key_is_found(
    client, auth, services, backend, monkeypatch, capsys
):
    """Plain SHA-256 forward from the edit: what anyone with the database could compute."""
    entries = _traffic(client, auth, services)
    victim = entries[1]
    _rewrite_from(services, victim, {"status": "denied"}, legacy_entry_hash)
    report = _verify(services)
    assert report.broken_at == victim.id
    assert "does not match its hash" in (report.problem or "")
    code, out = _cli_verify(backend, monkeypatch, capsys)
    assert code == 1
    assert f"BROKEN at entry {victim.id}" in out


def test_an_edit_recomputed_with_a_guessed_key_is_found(client, auth, services):
    victim = _traffic(client, auth, services)[0]
    guessed = AuditChain.from_settings(
        services.settings.model_copy(update={"audit_chain_key": "x" * 40})
    )
    _rewrite_from(
        services,
        victim,
        {"user_id": None},
        lambda entry, prev: entry_hash(entry, prev, guessed.keys.entries),
    )
    report = _verify(services)
    assert report.broken_at == victim.id
    assert "does not match its hash" in (report.problem or "")


def test_an_edit_recomputed_with_the_stolen_key_is_found_by_the_checkpoints(client, auth, services):
    """With the key too, the checkpoint log (outside the database) still names the old hashes."""
    entries = _traffic(client, auth, services)
    keys = services.audit_chain.keys
    _rewrite_from(
        services,
        entries[0],
        {"status": "denied"},
        lambda entry, prev: entry_hash(entry, prev, keys.entries),
    )
    report = _verify(services)
    assert not report.intact
    assert report.broken_at == entries[-1].id  # the checkpointed head: everything before it moved
    assert "does not match the checkpoint" in (report.problem or "")


def _rows(services: Services, model: type) -> list[dict[str, Any]]:
    table = model.__table__  # type: ignore[attr-defined]
    with services.db.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(table))]


def test_a_database_put_back_to_an_earlier_state_is_found(client, auth, services):
    """Rolled back to a copy of the audit tables taken earlier (a backup put back), and then
    even sealed past the newest checkpoint again: the checkpoints remember the lost entries."""
    _traffic(client, auth, services)
    earlier = {model: _rows(services, model) for model in (AuditLog, AuditChainHead)}
    lost = _traffic(client, auth, services)
    restore = [sa.delete(AuditLog), sa.delete(AuditChainHead)]
    restore += [sa.insert(model).values(rows) for model, rows in earlier.items()]
    _tamper(services, *restore)
    report = _verify(services)
    assert not report.intact
    assert "rolled back" in (report.problem or "")
    grown = _traffic(client, auth, services, requests=4)
    assert (grown[-1].seq or 0) > (lost[-1].seq or 0)
    report = _verify(services)
    assert not report.intact
    assert "does not match the checkpoint" in (report.problem or "")


def test_removing_the_oldest_entries_behind_retentions_back_is_found(client, auth, services):
    """The anchor (what retention leaves) set to hide removed entries retention still keeps."""
    first = _traffic(client, auth, services, requests=2)
    _traffic(client, auth, services)
    last_removed = first[-1]
    _tamper(
        services,
        sa.delete(AuditLog).where(AuditLog.seq <= last_removed.seq),
        sa.update(AuditChainHead).values(anchor_id=last_removed.id, anchor_hash=last_removed.hash),
    )
    report = _verify(services)
    assert not report.intact
    assert "retention keeps it" in (report.problem or "")


def test_a_forged_checkpoint_line_is_reported(client, auth, services, backend):
    entries = _traffic(client, auth, services)
    with checkpoint_path(backend.storage_path).open("a") as log:
        log.write(f"{entries[-1].seq + 5} {'0' * 64} 2026-01-01T00:00:00+00:00 {'f' * 64}\n")
    report = _verify(services)
    assert not report.intact
    assert "not signed with AUDIT_CHAIN_KEY" in (report.problem or "")


def test_a_chain_sealed_before_the_key_verifies_up_to_the_recorded_seq(services: Services):
    for number in range(3):
        record = AuditRecord(
            action="LOGIN", resource="auth", status="success", resource_id=f"{number}"
        )
        services.db.run(lambda s, r=record: append(s, r))
    legacy = sorted(audit_entries(services), key=lambda e: e.seq or 0)
    _rewrite_from(services, legacy[0], {}, legacy_entry_hash)  # as the sealer before the key did
    keys = services.audit_chain.keys
    without_boundary = AuditChain(keys)
    with services.db.new_session() as session:
        report = verify(session, without_boundary)
    assert report.broken_at == legacy[0].id
    assert "AUDIT_CHAIN_LEGACY_SEQ" in (report.problem or "")
    upgraded = AuditChain(keys, legacy_seq=legacy[-1].seq or 0)
    services.db.run(
        lambda s: append(s, AuditRecord(action="LOGIN", resource="auth", status="success"))
    )
    assert seal_now(services.db, upgraded) == 1
    with services.db.new_session() as session:
        assert verify(session, upgraded).intact
    keyed = audit_entries(services)[-1]
    assert keyed.hash == entry_hash(keyed, keyed.prev_hash, keys.entries)
    _rewrite_from(services, keyed, {"status": "failure"}, legacy_entry_hash)
    with services.db.new_session() as session:
        assert verify(session, upgraded).broken_at == keyed.id  # no plain SHA-256 past the seq


def test_an_entry_with_lone_surrogates_is_sealed_verified_and_listed(
    client, auth, services, backend
):
    """The value no UTF-8 encoder takes, stored in an entry's details (SQLite's JSON column
    keeps it escaped; the string columns' drivers refuse it, as does MariaDB's JSON check):
    sealed, verified and listed like any other (tests/unit/models/audit covers every field)."""
    if backend.name == "mariadb":
        pytest.skip("MariaDB's JSON_VALID check refuses a lone surrogate: it is never stored")
    details = {"email": "a\ud800@example.com", "note\udfff": ["\udbff", {"x": "\udc00\ud800"}]}
    record = AuditRecord(action="LOGIN", resource="auth", status="failure", details=details)
    services.db.run(lambda session: append(session, record))
    assert seal_now(services.db, services.audit_chain) == 1
    entry = audit_entries(services, action="LOGIN")[-1]
    assert entry.details == details
    assert _verify(services).intact
    response = client.get("/api/admin/audit-logs?action=LOGIN", headers=auth("admin@example.com"))
    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["hash"] == entry.hash
    assert _verify(services).intact


class _FlakyLog:
    where = "test://flaky"

    def __init__(self) -> None:
        self.down = True
        self.written: list[str] = []

    def append(self, line: str) -> None:
        if self.down:
            raise OSError("checkpoint store unreachable")
        self.written.append(line)

    def lines(self):  # type: ignore[no-untyped-def]
        return iter(self.written)


def test_a_failing_checkpoint_log_never_stops_sealing_and_catches_up(
    services: Services, caplog, monkeypatch
):
    monkeypatch.setattr(use_cases, "CHECKPOINT_RETRY_SECONDS", 0.0)
    log = _FlakyLog()
    chain = AuditChain(services.audit_chain.keys, log)
    caplog.set_level(logging.INFO, logger="portal.audit")
    for number in range(3):
        record = AuditRecord(
            action="LOGIN", resource="auth", status="success", resource_id=str(number)
        )
        services.db.run(lambda s, r=record: append(s, r))
        assert seal_now(services.db, chain) == 1
    failures = [r for r in caplog.records if "checkpointing the audit chain" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is None
    log.down = False
    assert seal_now(services.db, chain) == 0  # nothing new, but the pending head is written
    head = audit_entries(services)[-1]
    parsed = [parse_checkpoint(line, chain.keys.checkpoints) for line in log.written]
    assert [(c.seq, c.hash) for c in parsed if c] == [(head.seq, head.hash)]
    assert "works again after 3 failed attempts" in caplog.text
    with services.db.new_session() as session:
        assert verify(session, chain).intact


def test_a_seal_that_keeps_failing_logs_one_line_per_episode(caplog):
    calls: list[int] = []
    recovered = threading.Event()

    def seal() -> int:
        calls.append(1)
        if len(calls) <= 5:
            raise RuntimeError("database away\nwith a second line")
        recovered.set()
        return 0

    caplog.set_level(logging.INFO, logger="portal.audit")
    sealer = Sealer(seal, interval=0.005).start()
    assert recovered.wait(5)
    sealer.stop()
    lines = [r for r in caplog.records if r.name == "portal.audit"]
    assert [r.levelname for r in lines] == ["ERROR", "WARNING"]
    assert "sealing the audit chain failed (RuntimeError: database away)" in lines[0].getMessage()
    assert lines[0].exc_info is None and "\n" not in lines[0].getMessage()
    assert "works again after 5 failed attempts" in lines[1].getMessage()


def test_a_failing_checkpoint_log_is_not_asked_again_at_every_seal(services: Services):
    """A log that hangs until its timeout would otherwise hold up every seal."""
    attempts: list[str] = []

    class _Down(_FlakyLog):
        def append(self, line: str) -> None:
            attempts.append(line)
            raise OSError("timed out")

    chain = AuditChain(services.audit_chain.keys, _Down())
    for number in range(3):
        record = AuditRecord(
            action="LOGIN", resource="auth", status="success", resource_id=str(number)
        )
        services.db.run(lambda s, r=record: append(s, r))
        assert seal_now(services.db, chain) == 1
    assert len(attempts) == 1  # the next try waits CHECKPOINT_RETRY_SECONDS
