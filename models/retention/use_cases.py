"""Retention: purge what the configured periods no longer require us to keep.

- audit entries older than AUDIT_LOG_RETENTION_DAYS (at least 6 years, as HIPAA requires for
  compliance documentation); the chain keeps an anchor, so what remains still verifies;
- refresh tokens (ended login sessions) that expired or were revoked more than
  REFRESH_TOKEN_RETENTION_DAYS ago;
- cancelled appointments whose date is more than CANCELLED_APPOINTMENT_RETENTION_DAYS past.

One transaction does it all and records itself in the audit trail; `--dry-run` only counts
(and records that it did).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.database import Database, rowcount
from kernel.settings import Settings
from models.accounts.queries import dead_tokens
from models.accounts.tables import RefreshToken
from models.appointments.tables import Appointment
from models.audit.queries import append
from models.audit.tables import AuditLog
from models.audit.use_cases import AuditChain, prune_before, seal_now
from models.retention.rules import Cutoffs, RetentionReport, last_cancelled_day_kept
from security.audit import AuditRecord


def _count(session: Session, model: type, condition: sa.ColumnElement[bool]) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(model).where(condition)) or 0)


def _apply(session: Session, settings: Settings, now: datetime, dry_run: bool) -> RetentionReport:
    cutoffs = Cutoffs.of(settings, now)
    report = RetentionReport(dry_run=dry_run)
    old_cancelled = sa.and_(
        Appointment.status == "cancelled",
        Appointment.date < last_cancelled_day_kept(cutoffs, settings.clinic_zone),
    )
    if dry_run:
        report.audit_entries = _count(session, AuditLog, AuditLog.timestamp < cutoffs.audit)
        report.refresh_tokens = _count(session, RefreshToken, dead_tokens(cutoffs.tokens))
        report.cancelled_appointments = _count(session, Appointment, old_cancelled)
    else:
        report.refresh_tokens = rowcount(
            session.execute(sa.delete(RefreshToken).where(dead_tokens(cutoffs.tokens)))
        )
        report.cancelled_appointments = rowcount(
            session.execute(sa.delete(Appointment).where(old_cancelled))
        )
        # The chain head is locked last (a sealer locks only it), so no lock cycle forms.
        report.audit_entries = prune_before(session, cutoffs.audit)
    details = {
        "dryRun": dry_run,
        "auditEntries": report.audit_entries,
        "refreshTokens": report.refresh_tokens,
        "cancelledAppointments": report.cancelled_appointments,
        "auditRetentionDays": settings.audit_log_retention_days,
    }
    append(
        session,
        AuditRecord(action="RUN_RETENTION", resource="system", status="success", details=details),
        now,
    )
    return report


def run_retention(
    db: Database, chain: AuditChain, settings: Settings, now: datetime, *, dry_run: bool = False
) -> RetentionReport:
    if not dry_run:
        seal_now(db, chain)  # entries are pruned from the start of the sealed chain
    return db.run(lambda session: _apply(session, settings, now, dry_run))
