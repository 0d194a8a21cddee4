"""The tamper-evident chain of audit entries: hashing, appending under the head lock, verifying.

Each entry's hash covers its fields and the previous entry's hash, so altering, removing or
reordering any entry breaks every later link. Appenders lock the one chain-head row first, so
entries from many workers line up in one chain (on SQLite the write transaction's
BEGIN IMMEDIATE serializes them anyway).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.audit import AUDIT_CHAIN, AuditChainHead, AuditLog
from models.base import utcnow

STATUSES = ("success", "failure", "denied")


@dataclass(frozen=True)
class AuditRecord:
    """What one audit entry says; the chain adds the timestamp and the hashes."""

    action: str
    resource: str
    status: str
    user_id: str | None = None
    user_role: str | None = None
    resource_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    details: dict[str, Any] | None = None


def entry_hash(entry: AuditLog) -> str:
    """SHA-256 over the entry's fields (canonical JSON) and the previous entry's hash."""
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
        "prevHash": entry.prev_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def lock_head(session: Session) -> AuditChainHead:
    """The chain head, locked until the transaction ends (created if the table is empty)."""
    head = session.scalar(
        sa.select(AuditChainHead)
        .where(AuditChainHead.name == AUDIT_CHAIN)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if head is None:
        head = AuditChainHead(name=AUDIT_CHAIN)
        session.add(head)
        session.flush()
    return head


def append(session: Session, record: AuditRecord, now: datetime | None = None) -> AuditLog:
    """Add `record` as the chain's newest entry, in the caller's transaction."""
    head = lock_head(session)
    entry = AuditLog(
        timestamp=now or utcnow(),
        user_id=record.user_id,
        user_role=record.user_role,
        action=record.action,
        resource=record.resource,
        resource_id=record.resource_id,
        ip=record.ip,
        user_agent=(record.user_agent or "")[:500] or None,
        request_id=record.request_id,
        status=record.status,
        details=record.details or None,
        prev_hash=head.last_hash,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    head.last_id, head.last_hash = entry.id, entry.hash
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify(session: Session) -> ChainReport:
    """Walk the chain oldest first; report the first entry whose link or content is wrong."""
    head = session.get(AuditChainHead, AUDIT_CHAIN)
    expected_prev = head.anchor_hash if head else None
    count, last_id = 0, None
    entries = session.scalars(
        sa.select(AuditLog).order_by(AuditLog.id).execution_options(yield_per=1000)
    )
    for entry in entries:
        if entry.prev_hash != expected_prev:
            return ChainReport(
                count, entry.id, "its previous-hash does not match the entry before it"
            )
        if entry_hash(entry) != entry.hash:
            return ChainReport(count, entry.id, "its content does not match its hash")
        expected_prev, last_id = entry.hash, entry.id
        count += 1
    if head is not None and head.last_hash != expected_prev:
        return ChainReport(
            count,
            head.last_id,
            f"the chain head expects entry {head.last_id}, but the chain ends at {last_id}",
        )
    return ChainReport(count)


def prune_before(session: Session, cutoff: datetime) -> int:
    """Remove entries older than `cutoff` (retention), remembering the last removed hash so
    the oldest kept entry still verifies. Returns the number removed."""
    head = lock_head(session)
    last = session.execute(
        sa.select(AuditLog.id, AuditLog.hash)
        .where(AuditLog.timestamp < cutoff)
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return 0
    removed = session.execute(sa.delete(AuditLog).where(AuditLog.id <= last.id)).rowcount
    head.anchor_id, head.anchor_hash = last.id, last.hash
    return int(removed or 0)
