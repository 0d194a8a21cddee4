"""The audit trail's use cases: seal new entries into the keyed hash chain, checkpoint its head
outside the database, verify both, prune the chain (retention), and the admins' listing.

Writers only insert entries (`queries.append`): no lock, so audited requests of every worker never
wait for one another. A sealer (`seal`, run every AUDIT_SEAL_INTERVAL_SECONDS by each server
process, and before the chain is read, verified or pruned) locks the one chain-head row, gives
each unsealed entry the next place in the chain (`seq`) and an HMAC under AUDIT_CHAIN_KEY over
its fields and the previous entry's hash, and moves the head; once committed, the new head is
appended to the checkpoint log (AUDIT_CHECKPOINT). Altering, removing or reordering any sealed
entry breaks every later link, and without the key no one can recompute them; removing the
newest entries, or putting back an older database, leaves the chain shorter than, or different
from, its checkpoints. An entry is open to undetected change only until it is sealed.
docs/audit-and-compliance.md states the threat model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from adapters.checkpoints import CheckpointLog, checkpoint_log_from_settings
from kernel.clock import utcnow
from kernel.database import Database, rowcount
from kernel.episodes import FailureEpisodes
from kernel.settings import Settings
from models.audit import queries
from models.audit.rules import (
    ChainKeys,
    ChainReport,
    Checkpoint,
    checkpoint_line,
    entry_hash,
    legacy_entry_hash,
    parse_checkpoint,
)
from models.audit.tables import AUDIT_CHAIN, AuditChainHead, AuditLog
from security import audit
from security.identity import Identity
from security.policy.roles import require_admin

logger = logging.getLogger("portal.audit")

# Entries sealed per statement batch: one transaction seals any backlog, in slices this size.
SEAL_BATCH = 500
# While the checkpoint log fails, how long before the next attempt to write to it.
CHECKPOINT_RETRY_SECONDS = 5.0


@dataclass
class AuditChain:
    """What sealing and verifying need besides the database: the keys (never stored in it),
    the checkpoint log, and how far the chain was sealed before it had a key."""

    keys: ChainKeys
    checkpoints: CheckpointLog | None = None
    legacy_seq: int = 0
    # Entries younger than this are never pruned: a checkpoint of one that is gone is a removal.
    retention: timedelta | None = None
    # The newest head not checkpointed yet (its write failed): retried at the next seal, but
    # while the log fails at most every CHECKPOINT_RETRY_SECONDS, so a log that hangs until
    # its timeout does not hold up every seal (and the admin listing that seals first).
    _pending: Checkpoint | None = field(default=None, repr=False)
    _retry_at: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _episodes: FailureEpisodes = field(
        default_factory=lambda: FailureEpisodes(logger, "checkpointing the audit chain's head"),
        repr=False,
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditChain:
        return cls(
            ChainKeys.derive(settings.chain_key),
            checkpoint_log_from_settings(settings),
            settings.audit_chain_legacy_seq,
            timedelta(days=settings.audit_log_retention_days),
        )

    def checkpoint(self, head: Checkpoint | None) -> None:
        """Append `head` (or the head a failed write left pending) to the checkpoint log. A
        failure is logged once per episode and retried at the next seal; it never fails the
        seal, which is already committed."""
        if self.checkpoints is None:
            return
        with self._lock:
            if head is not None and (self._pending is None or head.seq >= self._pending.seq):
                self._pending = head
            if self._pending is None or time.monotonic() < self._retry_at:
                return
            try:
                self.checkpoints.append(checkpoint_line(self._pending, self.keys.checkpoints))
            except Exception as exc:
                self._episodes.failed(exc, "the sealed chain waits for its checkpoint")
                self._retry_at = time.monotonic() + CHECKPOINT_RETRY_SECONDS
                return
            self._pending = None
            self._episodes.succeeded()


class Sealed(NamedTuple):
    entries: int
    head: Checkpoint | None  # the chain's new head, when entries were sealed


def seal_now(db: Database, chain: AuditChain) -> int:
    """Seal every committed entry into the chain now, in its own transaction (before the chain
    is read, verified or pruned), then checkpoint the new head; returns how many were sealed."""
    with audit.detached():  # the seal's transaction carries no request's entry
        sealed = db.run(lambda session: seal(session, chain.keys.entries))
    chain.checkpoint(sealed.head)
    return sealed.entries


def seal(session: Session, key: bytes) -> Sealed:
    """Chain every committed, unsealed entry after the head, oldest id first, in the caller's
    transaction, each hashed under `key`. Entries committed while this runs are left for the
    next seal: the chain's order is the order of sealing, kept in `seq`. With nothing to seal
    it reads one index entry and takes no lock."""
    if not queries.any_pending(session):
        return Sealed(0, None)
    head = queries.lock_head(session)
    sealed, newest = 0, None
    while True:
        # a batch short of SEAL_BATCH was all there was: what committed since waits for the next
        batch = queries.pending(session, SEAL_BATCH) if sealed % SEAL_BATCH == 0 else []
        if not batch:
            if newest is None or head.last_seq is None or head.last_hash is None:
                return Sealed(sealed, None)
            return Sealed(sealed, Checkpoint(head.last_seq, head.last_hash, newest))
        seq, prev_hash = head.last_seq or 0, head.last_hash
        seqs: dict[int, int] = {}
        prev_hashes: dict[int, str | None] = {}
        hashes: dict[int, str] = {}
        for entry in batch:
            seq += 1
            seqs[entry.id], prev_hashes[entry.id] = seq, prev_hash
            prev_hash = hashes[entry.id] = entry_hash(entry, prev_hash, key)
        queries.write_links(session, seqs, prev_hashes, hashes)
        head.last_id, head.last_seq, head.last_hash = batch[-1].id, seq, prev_hash
        session.flush()
        sealed, newest = sealed + len(batch), batch[-1].timestamp


def _read_checkpoints(chain: AuditChain) -> tuple[dict[int, list[Checkpoint]], list[str]]:
    """The checkpoints by seq, and the lines that are not checkpoints signed with the key."""
    by_seq: dict[int, list[Checkpoint]] = defaultdict(list)
    unsigned: list[str] = []
    assert chain.checkpoints is not None
    for line in chain.checkpoints.lines():
        checkpoint = parse_checkpoint(line, chain.keys.checkpoints)
        if checkpoint is None:
            unsigned.append(line)
        else:
            by_seq[checkpoint.seq].append(checkpoint)
    return by_seq, unsigned


def _legacy_hint(entry: AuditLog) -> str:
    return (
        f"its content does not match its hash: it was hashed with plain SHA-256, without "
        f"AUDIT_CHAIN_KEY (seq {entry.seq}); either the chain was recomputed without the key, or "
        "it was sealed before the key existed, and then AUDIT_CHAIN_LEGACY_SEQ names the last "
        "such seq (docs/operations.md)"
    )


def verify(session: Session, chain: AuditChain, now: datetime | None = None) -> ChainReport:
    """Walk the sealed chain oldest first; report the first entry whose link, content or
    checkpoint is wrong, a chain shorter than its checkpoints, and how many entries still wait
    to be sealed. The checkpoints are read first: every one was written after its seal
    committed, so the database read after them holds every entry they name."""
    if chain.checkpoints is not None:
        try:
            checkpoints, unsigned = _read_checkpoints(chain)
        except Exception as exc:
            where = chain.checkpoints.where
            return ChainReport(0, None, f"the checkpoints at {where} could not be read: {exc}")
        if unsigned:
            return ChainReport(
                0,
                None,
                f"{len(unsigned)} line(s) of the checkpoint log are not signed with "
                f"AUDIT_CHAIN_KEY (forged, damaged, or another key's), e.g. {unsigned[0][:100]!r}",
            )
    else:
        checkpoints = {}
    head = session.get(AuditChainHead, AUDIT_CHAIN)
    expected_prev = head.anchor_hash if head else None
    count, last_id, last_seq = 0, None, None
    entries = session.scalars(
        sa.select(AuditLog)
        .where(AuditLog.seq.is_not(None))
        .order_by(AuditLog.seq)
        .execution_options(yield_per=1000)
    )
    for entry in entries:
        seq = entry.seq or 0
        if last_seq is None and expected_prev is not None:
            # the entries before the oldest kept one were pruned: its hash is the anchor
            if problem := _disagreeing(checkpoints.get(seq - 1, ()), expected_prev):
                return ChainReport(
                    count, entry.id, f"the entry before it (seq {seq - 1}) {problem}"
                )
            if problem := _pruned_too_young(checkpoints, seq, chain, now or utcnow()):
                return ChainReport(count, entry.id, problem)
        if entry.prev_hash != expected_prev:
            return ChainReport(
                count, entry.id, "its previous-hash does not match the entry before it"
            )
        if seq <= chain.legacy_seq:
            if legacy_entry_hash(entry, entry.prev_hash) != entry.hash:
                return ChainReport(count, entry.id, "its content does not match its hash")
        elif entry_hash(entry, entry.prev_hash, chain.keys.entries) != entry.hash:
            if legacy_entry_hash(entry, entry.prev_hash) == entry.hash:
                return ChainReport(count, entry.id, _legacy_hint(entry))
            return ChainReport(count, entry.id, "its content does not match its hash")
        if problem := _disagreeing(checkpoints.get(seq, ()), entry.hash):
            return ChainReport(count, entry.id, f"it {problem}")
        expected_prev, last_id, last_seq = entry.hash, entry.id, seq
        count += 1
    if last_seq is None and head is not None and head.anchor_hash is not None:
        # every sealed entry was pruned: the chain ends where the head says, at the anchor
        last_seq = head.last_seq if head.last_hash == head.anchor_hash else None
        if problem := _pruned_too_young(checkpoints, (last_seq or 0) + 1, chain, now or utcnow()):
            return ChainReport(count, None, problem)
    if head is not None and head.last_hash != expected_prev:
        return ChainReport(
            count,
            head.last_id,
            f"the chain head expects entry {head.last_id}, but the chain ends at {last_id}",
        )
    newest = max((c for cs in checkpoints.values() for c in cs), key=lambda c: c.seq, default=None)
    checked = sum(len(cs) for cs in checkpoints.values()) if chain.checkpoints else None
    if newest is not None and newest.seq > (last_seq or 0):
        return ChainReport(
            count,
            last_id,
            f"the checkpoint of {newest.at.isoformat()} records the chain up to seq {newest.seq}, "
            f"but it ends at seq {last_seq or 0}: sealed entries were removed, or the database "
            "was rolled back",
            checkpoints=checked,
            newest_checkpoint=newest,
        )
    unsealed = session.scalar(
        sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.seq.is_(None))
    )
    return ChainReport(
        count, unsealed=int(unsealed or 0), checkpoints=checked, newest_checkpoint=newest
    )


def _pruned_too_young(
    checkpoints: dict[int, list[Checkpoint]], first_kept: int, chain: AuditChain, now: datetime
) -> str | None:
    """A checkpoint of an entry that is gone from the start of the chain though retention still
    keeps it (sealed within the retention period, with a day's grace)."""
    if chain.retention is None:
        return None
    kept_since = now - chain.retention + timedelta(days=1)
    for seq, found in checkpoints.items():
        if seq < first_kept and any(c.at > kept_since for c in found):
            return (
                f"the checkpoint of seq {seq} ({found[0].at.isoformat()}) names an entry removed "
                "from the start of the chain, though retention keeps it: entries were deleted"
            )
    return None


def _disagreeing(checkpoints: Sequence[Checkpoint], hash_: str | None) -> str | None:
    """What is wrong when a checkpoint of this place records another hash; None if none does."""
    for checkpoint in checkpoints:
        if checkpoint.hash != hash_:
            return (
                f"does not match the checkpoint of {checkpoint.at.isoformat()} (seq "
                f"{checkpoint.seq}): the chain was rewritten, or the database rolled back and "
                "sealed again"
            )
    return None


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
    chain: AuditChain,
    identity: Identity,
    filters: queries.AuditFilters,
    zone: ZoneInfo,
    page: int,
    limit: int,
) -> tuple[list[AuditLog], int]:
    """One page of the trail for an administrator, newest first; every entry listed is sealed
    first, so it shows its hash."""
    require_admin(identity, "Only administrators can read the audit trail")
    audit.note(subject=filters.subject_id, details={**filters.described(), "page": page})
    seal_now(db, chain)
    entries, total = db.read(lambda session: queries.search(session, filters, zone, page, limit))
    audit.note(details={"count": len(entries)})
    return entries, total


def verify_chain(db: Database, chain: AuditChain) -> ChainReport:
    """Seal what the servers have not sealed yet, then verify the whole chain against its
    checkpoints, on the primary (a lagging replica would look truncated)."""
    seal_now(db, chain)
    now = utcnow()
    return db.run(lambda session: verify(session, chain, now))
