"""The chain's pure rules: the canonical form takes any stored value, the hash needs the key,
and a checkpoint line is accepted only as signed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from models.audit.rules import (
    HASHED_COLUMNS,
    ChainKeys,
    Checkpoint,
    canonical_form,
    checkpoint_line,
    entry_hash,
    legacy_entry_hash,
    parse_checkpoint,
)

WHEN = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
KEYS = ChainKeys.derive("k" * 40)


def _entry(**fields: object) -> SimpleNamespace:
    values: dict[str, object] = {name: None for name in HASHED_COLUMNS}
    values.update(timestamp=WHEN, action="LOGIN", resource="auth", status="success")
    values.update(fields)
    return SimpleNamespace(**values)


@pytest.mark.parametrize("column", [c for c in HASHED_COLUMNS if c != "timestamp"])
def test_a_lone_surrogate_in_any_field_is_hashed(column: str) -> None:
    value: object = {"k\udfff": ["v\ud800"]} if column == "details" else "a\ud800b"
    entry = _entry(**{column: value})
    digest = entry_hash(entry, None, KEYS.entries)
    assert len(digest) == 64
    assert digest != entry_hash(_entry(**{column: "ab"}), None, KEYS.entries)
    assert legacy_entry_hash(entry, None) != digest


def test_the_canonical_form_of_ordinary_values_is_the_one_the_legacy_chain_hashed() -> None:
    """Entries sealed before the key keep verifying: the same JSON, the same UTF-8 bytes."""
    entry = _entry(user_agent="Mozilla/5.0 — café", details={"b": 1, "a": "ü"})
    old = json.dumps(
        {
            "timestamp": WHEN.isoformat(), "userId": None, "userRole": None, "action": "LOGIN",
            "resource": "auth", "resourceId": None, "ip": None,
            "userAgent": "Mozilla/5.0 — café", "requestId": None, "status": "success",
            "details": {"b": 1, "a": "ü"}, "prevHash": "p",
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    ).encode()  # fmt: skip
    assert canonical_form(entry, "p") == old
    assert legacy_entry_hash(entry, "p") == hashlib.sha256(old).hexdigest()


def test_the_hash_depends_on_the_key_and_the_keys_on_their_purpose() -> None:
    entry = _entry()
    other = ChainKeys.derive("o" * 40)
    assert entry_hash(entry, None, KEYS.entries) != entry_hash(entry, None, other.entries)
    assert KEYS.entries != KEYS.checkpoints
    assert entry_hash(entry, None, KEYS.entries) == entry_hash(_entry(), None, KEYS.entries)


def test_a_checkpoint_line_is_read_back_only_with_its_key() -> None:
    checkpoint = Checkpoint(42, "ab" * 32, WHEN)
    line = checkpoint_line(checkpoint, KEYS.checkpoints)
    assert line.startswith(f"42 {'ab' * 32} 2026-01-05T14:30:00+00:00 ")
    assert parse_checkpoint(line, KEYS.checkpoints) == checkpoint
    assert parse_checkpoint(line, ChainKeys.derive("o" * 40).checkpoints) is None
    seq, digest, at, mac = line.split(" ")
    moved = (WHEN + timedelta(days=1)).isoformat()
    for forged in (f"43 {digest} {at} {mac}", f"{seq} {'cd' * 32} {at} {mac}",
                   f"{seq} {digest} {moved} {mac}", "garbage", ""):  # fmt: skip
        assert parse_checkpoint(forged, KEYS.checkpoints) is None


def test_the_subject_is_hashed_only_when_there_is_one() -> None:
    """An entry without a subject has the canonical form of before the column existed (so the
    chain sealed then still verifies); one with a subject has it as a field."""
    without = canonical_form(_entry(), "p")
    assert b"subject" not in without
    with_subject = canonical_form(_entry(subject="a-patient"), "p")
    assert json.loads(with_subject) == {**json.loads(without), "subject": "a-patient"}
    assert entry_hash(_entry(subject="a-patient"), "p", KEYS.entries) != entry_hash(
        _entry(), "p", KEYS.entries
    )
