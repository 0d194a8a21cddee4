"""How an audit entry is sealed into the chain: its canonical form, its keyed hash (and the plain
SHA-256 of chains sealed before the key), and the signed checkpoints of the chain's head."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# What an entry's hash covers, with the previous entry's hash.
HASHED_COLUMNS = (
    "timestamp", "user_id", "user_role", "action", "resource", "resource_id", "ip",
    "user_agent", "request_id", "status", "details", "subject",
)  # fmt: skip


@dataclass(frozen=True)
class ChainKeys:
    """Two keys derived from AUDIT_CHAIN_KEY: one links the entries, one signs the checkpoints,
    so a value made for one purpose never passes for the other."""

    entries: bytes
    checkpoints: bytes

    @classmethod
    def derive(cls, secret: str) -> ChainKeys:
        master = secret.encode()
        return cls(
            entries=hmac.digest(master, b"portal audit chain: entries", "sha256"),
            checkpoints=hmac.digest(master, b"portal audit chain: checkpoints", "sha256"),
        )


def canonical_form(entry: Any, prev_hash: str | None) -> bytes:
    """The bytes an entry's hash covers: its fields and the previous entry's hash as canonical
    JSON. Any stored string encodes, a lone surrogate too (`surrogatepass`), so no value can
    stop the sealer; for every other string the bytes are plain UTF-8, as they always were.
    The subject (the patient, added in revision audit_subject2) is a field only when there is
    one, so every entry sealed before it existed has the very bytes it was sealed with."""
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
    subject = getattr(entry, "subject", None)
    if subject is not None:
        fields["subject"] = subject
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return canonical.encode("utf-8", "surrogatepass")


def entry_hash(entry: Any, prev_hash: str | None, key: bytes) -> str:
    """HMAC-SHA256 under the chain's entry key over the canonical form; `entry` is an AuditLog
    or a row with its HASHED_COLUMNS. Without the key, no one can compute it."""
    return hmac.new(key, canonical_form(entry, prev_hash), hashlib.sha256).hexdigest()


def legacy_entry_hash(entry: Any, prev_hash: str | None) -> str:
    """Plain SHA-256 over the canonical form: how entries were sealed before the chain had a key
    (accepted by verify only up to AUDIT_CHAIN_LEGACY_SEQ)."""
    return hashlib.sha256(canonical_form(entry, prev_hash)).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one seal: the newest sealed entry's place, its hash and when it was
    written (its timestamp: sealing follows within a second, and retention goes by it)."""

    seq: int
    hash: str
    at: datetime


def checkpoint_line(checkpoint: Checkpoint, key: bytes) -> str:
    """One line of the checkpoint log: `seq hash time mac`, the mac an HMAC over the rest."""
    body = f"{checkpoint.seq} {checkpoint.hash} {checkpoint.at.astimezone(UTC).isoformat()}"
    return f"{body} {hmac.new(key, body.encode(), hashlib.sha256).hexdigest()}"


def parse_checkpoint(line: str, key: bytes) -> Checkpoint | None:
    """The checkpoint a line records, or None when it is not one signed with `key` (forged,
    corrupted, or written under another key)."""
    parts = line.strip().split(" ")
    if len(parts) != 4:
        return None
    seq, entry_hash_, at, mac = parts
    expected = hmac.new(key, " ".join(parts[:3]).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        return Checkpoint(int(seq), entry_hash_, datetime.fromisoformat(at))
    except ValueError:
        return None


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken_at: int | None = None
    problem: str | None = None
    unsealed: int = 0
    # How many checkpoints the chain was compared with; None when none are configured.
    checkpoints: int | None = None
    newest_checkpoint: Checkpoint | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None
