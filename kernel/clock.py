"""The current instant: every rule that depends on "now" is given it from here, so tests can
freeze it in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    """The current instant and the clinic's time zone: the two inputs of every time rule."""

    now: datetime
    zone: ZoneInfo

    @classmethod
    def at_clinic(cls, zone: ZoneInfo) -> Clock:
        return cls(now=utcnow(), zone=zone)
