"""What retention keeps: the cutoffs the configured periods give, and how a run is reported."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kernel.settings import Settings


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


def last_cancelled_day_kept(cutoffs: Cutoffs, zone: ZoneInfo) -> date:
    """Cancelled appointments dated before this clinic day are purged."""
    return cutoffs.cancelled_before.astimezone(zone).date()
