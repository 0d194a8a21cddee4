"""`portal retention run [--dry-run]`: what goes, what stays, the audit chain still verifies,
and the run is itself audited."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from models.accounts.tables import RefreshToken, User
from models.appointments.tables import Appointment
from models.audit.queries import append
from models.audit.tables import AuditLog
from models.audit.use_cases import verify
from models.retention.use_cases import run_retention
from portal.ops import cli
from portal.runtime import Services
from security.audit import AuditRecord
from tests.conftest import TEST_SECRET, TEST_STORAGE_KEY, Backend
from tests.support.audit import audit_entries, last_entry

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def _token(user_id: str, *, expires: datetime, revoked: datetime | None = None) -> RefreshToken:
    return RefreshToken(
        user_id=user_id,
        family_id=str(uuid.uuid4()),
        token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
        expires_at=expires,
        revoked_at=revoked,
        created_at=expires - timedelta(days=7),
        session_started_at=expires - timedelta(days=7),
    )


def _cancelled(patient: str, provider: str, day: date, status: str = "cancelled") -> Appointment:
    return Appointment(
        patient_id=patient,
        provider_id=provider,
        date=day,
        start_time=time(9, 0),
        type="follow_up",
        status=status,
        reason="Old visit that was called off",
        cancelled_at=datetime.combine(day, time(8), tzinfo=UTC) if status == "cancelled" else None,
    )


def _arrange(services: Services) -> dict[str, list[str]]:
    """Old and recent rows of each kind; returns the ids expected to survive."""
    for years_ago in (8, 7):
        record = AuditRecord(action="LOGIN", resource="auth", status="success")
        when = NOW - timedelta(days=365 * years_ago)
        services.db.run(lambda s, r=record, w=when: append(s, r, w))
    recent = AuditRecord(action="LOGIN", resource="auth", status="failure")
    services.db.run(lambda s: append(s, recent, NOW - timedelta(days=365 * 5)))

    def rows(session):  # type: ignore[no-untyped-def]
        patient = session.scalar(sa.select(User).where(User.email == "patient1@example.com"))
        doctor = session.scalar(sa.select(User).where(User.email == "doctor1@example.com"))
        old = NOW - timedelta(days=40)
        tokens = [
            _token(patient.id, expires=old),  # expired long ago: goes
            _token(patient.id, expires=NOW + timedelta(days=3), revoked=old),  # revoked: goes
            _token(patient.id, expires=NOW - timedelta(days=10)),  # recently expired: stays
            _token(patient.id, expires=NOW + timedelta(days=5)),  # live: stays
        ]
        visits = [
            _cancelled(patient.id, doctor.id, date(2025, 3, 3)),  # goes
            _cancelled(patient.id, doctor.id, date(2026, 3, 3)),  # recent: stays
            _cancelled(patient.id, doctor.id, date(2025, 3, 4), status="completed"),  # stays
        ]
        session.add_all([*tokens, *visits])
        session.flush()
        return {"tokens": [t.id for t in tokens[2:]], "visits": [v.id for v in visits[1:]]}

    return services.db.run(rows)


def _ids(services: Services, model: type) -> set[str]:
    with services.db.new_session() as session:
        return set(session.scalars(sa.select(model.id)))


def test_a_dry_run_reports_and_changes_nothing(services: Services):
    _arrange(services)
    tokens, visits = _ids(services, RefreshToken), _ids(services, Appointment)
    report = run_retention(services.db, services.audit_chain, services.settings, NOW, dry_run=True)
    assert (report.audit_entries, report.refresh_tokens, report.cancelled_appointments) == (2, 2, 1)
    assert _ids(services, RefreshToken) == tokens and _ids(services, Appointment) == visits
    assert len(audit_entries(services)) == 4
    entry = last_entry(services, action="RUN_RETENTION")
    assert entry.details["dryRun"] is True and entry.details["refreshTokens"] == 2


def test_a_run_purges_what_is_past_retention_and_keeps_the_rest(services: Services):
    survivors = _arrange(services)
    seeded_visits = _ids(services, Appointment) - set(survivors["visits"])
    report = run_retention(services.db, services.audit_chain, services.settings, NOW)
    assert (report.audit_entries, report.refresh_tokens, report.cancelled_appointments) == (2, 2, 1)
    assert _ids(services, RefreshToken) == set(survivors["tokens"])
    remaining_visits = _ids(services, Appointment)
    assert set(survivors["visits"]) <= remaining_visits
    assert len(remaining_visits) == len(seeded_visits) - 1 + 2
    entries = audit_entries(services)
    assert [(e.action, e.status) for e in entries] == [
        ("LOGIN", "failure"),
        ("RUN_RETENTION", "success"),
    ]
    assert entries[-1].details["auditEntries"] == 2
    with services.db.new_session() as session:
        report_after = verify(session, services.audit_chain)
    assert report_after.intact and report_after.entries == 2


def test_removing_the_entry_after_the_pruned_ones_is_still_detected(services: Services):
    _arrange(services)
    run_retention(services.db, services.audit_chain, services.settings, NOW)
    with services.db.engine.begin() as connection:
        oldest_kept = connection.scalar(sa.select(sa.func.min(AuditLog.id)))
        connection.execute(sa.delete(AuditLog).where(AuditLog.id == oldest_kept))
    with services.db.new_session() as session:
        assert not verify(session, services.audit_chain).intact


def test_the_command_line(services: Services, backend: Backend, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("STORAGE_ENCRYPTION_KEY", TEST_STORAGE_KEY)
    monkeypatch.setenv("JWT_SECRET", TEST_SECRET)
    monkeypatch.setenv("STORAGE_PATH", str(backend.storage_path))
    assert cli.main(["retention", "run", "--dry-run"]) == 0
    assert "retention would purge: 0 audit entries" in capsys.readouterr().out
    assert cli.main(["retention", "run"]) == 0
    assert "retention purged:" in capsys.readouterr().out
    assert [e.details["dryRun"] for e in audit_entries(services, action="RUN_RETENTION")] == [
        True,
        False,
    ]
