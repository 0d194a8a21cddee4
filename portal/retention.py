"""Retention (plan 7.1): purge what the configured periods no longer require us to keep.

- audit entries older than AUDIT_LOG_RETENTION_DAYS (at least 6 years, as HIPAA requires for
  compliance documentation); the chain keeps an anchor, so what remains still verifies;
- refresh tokens (ended login sessions) that expired or were revoked more than
  REFRESH_TOKEN_RETENTION_DAYS ago;
- cancelled appointments whose date is more than CANCELLED_APPOINTMENT_RETENTION_DAYS past.

One transaction does it all and records itself in the audit trail; `--dry-run` only counts
(and records that it did).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.appointments import Appointment
from models.audit import AuditLog
from models.users import RefreshToken
from portal.db import Database
from portal.settings import Settings
from security.audit import seal_now
from security.audit_chain import AuditRecord, append, prune_before


@dataclass
class RetentionReport:
    dry_run: bool
    audit_entries: int = 0
    refresh_tokens: int = 0
    cancelled_appointments: int = 0

    def __str__(self) -> str:
        verb = "would purge" if self.dry_run else "purged"
        return (
            f"retention {verb}: {self.audit_entries} audit entries, "
            f"{self.refresh_tokens} refresh tokens, "
            f"{self.cancelled_appointments} cancelled appointments"
        )


@dataclass(frozen=True)
class Cutoffs:
    audit: datetime
    tokens: datetime
    cancelled_before: datetime

    @classmethod
    def of(cls, settings: Settings, now: datetime) -> Cutoffs:
        return cls(
            audit=now - timedelta(days=settings.audit_log_retention_days),
            tokens=now - timedelta(days=settings.refresh_token_retention_days),
            cancelled_before=now - timedelta(days=settings.cancelled_appointment_retention_days),
        )


def _dead_tokens(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        RefreshToken.expires_at < cutoff,
        sa.and_(RefreshToken.revoked_at.is_not(None), RefreshToken.revoked_at < cutoff),
    )


def _old_cancelled(cutoffs: Cutoffs, settings: Settings) -> sa.ColumnElement[bool]:
    last_day = cutoffs.cancelled_before.astimezone(settings.clinic_zone).date()
    return sa.and_(Appointment.status == "cancelled", Appointment.date < last_day)


def _count(session: Session, model: type, condition: sa.ColumnElement[bool]) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(model).where(condition)) or 0)


def _apply(session: Session, settings: Settings, now: datetime, dry_run: bool) -> RetentionReport:
    cutoffs = Cutoffs.of(settings, now)
    report = RetentionReport(dry_run=dry_run)
    old_cancelled = _old_cancelled(cutoffs, settings)
    if dry_run:
        report.audit_entries = _count(session, AuditLog, AuditLog.timestamp < cutoffs.audit)
        report.refresh_tokens = _count(session, RefreshToken, _dead_tokens(cutoffs.tokens))
        report.cancelled_appointments = _count(session, Appointment, old_cancelled)
    else:
        report.refresh_tokens = int(
            session.execute(sa.delete(RefreshToken).where(_dead_tokens(cutoffs.tokens))).rowcount
            or 0
        )
        report.cancelled_appointments = int(
            session.execute(sa.delete(Appointment).where(old_cancelled)).rowcount or 0
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
    db: Database, settings: Settings, now: datetime, *, dry_run: bool = False
) -> RetentionReport:
    if not dry_run:
        seal_now(db)  # entries are pruned from the start of the sealed chain
    return db.run(lambda session: _apply(session, settings, now, dry_run))
