"""The audit trail's use cases: seal new entries into the hash chain, verify it, prune it
(retention), and the admins' listing.

Writers only insert entries (`queries.append`): no lock, so audited requests of every worker never
wait for one another. A sealer (`seal`, run every AUDIT_SEAL_INTERVAL_SECONDS by each server
process, and before the chain is read, verified or pruned) locks the one chain-head row, gives
each unsealed entry the next place in the chain (`seq`) and a hash over its fields and the
previous entry's hash, and moves the head. Altering, removing or reordering any sealed entry
breaks every later link; an entry is open to undetected change only until it is sealed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.database import Database, rowcount
from models.audit import queries
from models.audit.rules import ChainReport, entry_hash
from models.audit.tables import AUDIT_CHAIN, AuditChainHead, AuditLog
from security import audit
from security.identity import Identity
from security.policy.roles import require_admin

logger = logging.getLogger("portal.audit")

# Entries sealed per statement batch: one transaction seals any backlog, in slices this size.
SEAL_BATCH = 500


def seal_now(db: Database) -> int:
    """Seal every committed entry into the chain now, in its own transaction (before the chain
    is read, verified or pruned); returns how many were sealed."""
    with audit.detached():  # the seal's transaction carries no request's entry
        return db.run(seal)


def seal(session: Session) -> int:
    """Chain every committed, unsealed entry after the head, oldest id first, in the caller's
    transaction; returns how many were sealed. Entries committed while this runs are left for
    the next seal: the chain's order is the order of sealing, kept in `seq`."""
    head = queries.lock_head(session)
    sealed = 0
    while True:
        batch = queries.pending(session, SEAL_BATCH)
        if not batch:
            return sealed
        seq, prev_hash = head.last_seq or 0, head.last_hash
        seqs: dict[int, int] = {}
        prev_hashes: dict[int, str | None] = {}
        hashes: dict[int, str] = {}
        for entry in batch:
            seq += 1
            seqs[entry.id], prev_hashes[entry.id] = seq, prev_hash
            prev_hash = hashes[entry.id] = entry_hash(entry, prev_hash)
        queries.write_links(session, seqs, prev_hashes, hashes)
        head.last_id, head.last_seq, head.last_hash = batch[-1].id, seq, prev_hash
        session.flush()
        sealed += len(batch)


def verify(session: Session) -> ChainReport:
    """Walk the sealed chain oldest first; report the first entry whose link or content is
    wrong, and how many entries still wait to be sealed."""
    head = session.get(AuditChainHead, AUDIT_CHAIN)
    expected_prev = head.anchor_hash if head else None
    count, last_id = 0, None
    entries = session.scalars(
        sa.select(AuditLog)
        .where(AuditLog.seq.is_not(None))
        .order_by(AuditLog.seq)
        .execution_options(yield_per=1000)
    )
    for entry in entries:
        if entry.prev_hash != expected_prev:
            return ChainReport(
                count, entry.id, "its previous-hash does not match the entry before it"
            )
        if entry_hash(entry, entry.prev_hash) != entry.hash:
            return ChainReport(count, entry.id, "its content does not match its hash")
        expected_prev, last_id = entry.hash, entry.id
        count += 1
    if head is not None and head.last_hash != expected_prev:
        return ChainReport(
            count,
            head.last_id,
            f"the chain head expects entry {head.last_id}, but the chain ends at {last_id}",
        )
    unsealed = session.scalar(
        sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.seq.is_(None))
    )
    return ChainReport(count, unsealed=int(unsealed or 0))


def prune_before(session: Session, cutoff: datetime) -> int:
    """Remove the sealed entries older than `cutoff` (retention), from the start of the chain,
    remembering the last removed hash so the oldest kept entry still verifies. Returns the
    number removed."""
    head = queries.lock_head(session)
    last = session.execute(
        sa.select(AuditLog.id, AuditLog.seq, AuditLog.hash)
        .where(AuditLog.timestamp < cutoff, AuditLog.seq.is_not(None))
        .order_by(AuditLog.seq.desc())
        .limit(1)
    ).first()
    if last is None:
        return 0
    removed = rowcount(session.execute(sa.delete(AuditLog).where(AuditLog.seq <= last.seq)))
    head.anchor_id, head.anchor_hash = last.id, last.hash
    return int(removed or 0)


def list_entries(
    db: Database,
    identity: Identity,
    filters: queries.AuditFilters,
    zone: ZoneInfo,
    page: int,
    limit: int,
) -> tuple[list[AuditLog], int]:
    """One page of the trail for an administrator, newest first; every entry listed is sealed
    first, so it shows its hash."""
    require_admin(identity, "Only administrators can read the audit trail")
    audit.note(details={**filters.described(), "page": page})
    seal_now(db)
    return db.read(lambda session: queries.search(session, filters, zone, page, limit))


def verify_chain(db: Database) -> ChainReport:
    """Seal what the servers have not sealed yet, then verify the whole chain."""
    seal_now(db)
    return db.read(verify)
