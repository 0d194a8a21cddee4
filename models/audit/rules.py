"""How an audit entry is sealed into the chain: its canonical form and its hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

# What an entry's hash covers, with the previous entry's hash.
HASHED_COLUMNS = (
    "timestamp", "user_id", "user_role", "action", "resource", "resource_id", "ip",
    "user_agent", "request_id", "status", "details",
)  # fmt: skip


def entry_hash(entry: Any, prev_hash: str | None) -> str:
    """SHA-256 over the entry's fields (canonical JSON) and the previous entry's hash; `entry`
    is an AuditLog or a row with its HASHED_COLUMNS."""
    fields = {
        "timestamp": entry.timestamp.astimezone(UTC).isoformat(),
        "userId": entry.user_id,
        "userRole": entry.user_role,
        "action": entry.action,
        "resource": entry.resource,
        "resourceId": entry.resource_id,
        "ip": entry.ip,
        "userAgent": entry.user_agent,
        "requestId": entry.request_id,
        "status": entry.status,
        "details": entry.details,
        "prevHash": prev_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken_at: int | None = None
    problem: str | None = None
    unsealed: int = 0

    @property
    def intact(self) -> bool:
        return self.problem is None
