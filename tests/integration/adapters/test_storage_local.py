"""Local storage: encrypted at rest (the seed's files too), all-or-nothing writes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.storage import EncryptedStorage, LocalStorage, new_storage_key
from adapters.storage.crypto import MAGIC
from kernel.errors import TooLarge, Unavailable
from models import MedicalRecord, MedicalRecordAttachment, User
from models.records.tables import RECORD_TYPES


def test_every_seeded_file_is_encrypted_at_rest_and_decrypts_to_its_hash(
    services, db_session, backend
):
    assert isinstance(services.storage, EncryptedStorage)
    attachments = list(db_session.scalars(sa.select(MedicalRecordAttachment)))
    assert len(attachments) == 55
    for attachment in attachments:
        at_rest = (Path(backend.storage_path) / attachment.storage_path).read_bytes()
        assert at_rest.startswith(MAGIC)
        plain = b"".join(services.storage.open(attachment.storage_path))
        # No 32-byte run of the plaintext survives (short markers occur in ciphertext by chance).
        assert plain[:32] not in at_rest and plain[-32:] not in at_rest
        signature = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n"}
        assert plain.startswith(signature[attachment.file_type])
        assert len(plain) == attachment.file_size
        assert hashlib.sha256(plain).hexdigest() == attachment.sha256


def test_the_seed_gives_every_patient_ten_or_more_records_of_all_five_types(db_session):
    rows = db_session.execute(
        sa.select(User.email, MedicalRecord.type).join(User, User.id == MedicalRecord.patient_id)
    ).all()
    for number in range(1, 6):
        kinds = [kind for email, kind in rows if email == f"patient{number}@example.com"]
        assert len(kinds) >= 10 and set(kinds) == set(RECORD_TYPES)


def test_a_write_that_fails_midway_leaves_nothing(tmp_path):
    storage = EncryptedStorage(LocalStorage(tmp_path), bytes(32))

    def chunks() -> Iterator[bytes]:
        yield b"%PDF-1.4" + bytes(200_000)
        raise TooLarge()

    with pytest.raises(TooLarge):
        storage.save(new_storage_key("records"), chunks())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_an_unwritable_root_is_503_and_leaves_nothing(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "records").write_text("a file where a directory should be")
    with pytest.raises(Unavailable):
        LocalStorage(root).save(new_storage_key("records"), [b"data"])
    assert [p.name for p in root.rglob("*")] == ["records"]


def test_keys_cannot_leave_the_root(tmp_path):
    storage = LocalStorage(tmp_path)
    for key in ("../escape", "/etc/passwd", "records/../../x", "Records/UPPER"):
        with pytest.raises(ValueError):
            storage.save(key, [b"x"])


def test_unfinished_uploads_of_a_dead_process_are_removed_and_never_served(tmp_path: Path):
    import os

    storage = LocalStorage(tmp_path)
    key = new_storage_key("records")
    storage.save(key, [b"kept"])
    records = tmp_path / "records"
    stale = records / f".{key.rsplit('/', 1)[1]}.0123abcd.part"
    stale.write_bytes(b"half an upload")
    os.utime(stale, (1_000_000, 1_000_000))  # written long ago by a process that died
    fresh = records / ".other.4567cdef.part"  # a sibling worker's upload in progress
    fresh.write_bytes(b"being written")

    assert storage.remove_stale_parts(older_than_seconds=3600) == 1
    assert not stale.exists() and fresh.exists()
    assert b"".join(storage.open(key)) == b"kept"
    with pytest.raises(ValueError):
        storage.open(f"records/{fresh.name}")  # a .part file is never a key


def test_a_server_starts_by_removing_stale_parts(tmp_path: Path, monkeypatch):
    import os

    from portal.runtime.services import remove_stale_uploads
    from tests.conftest import make_settings

    stale = tmp_path / "records" / ".x.0123abcd.part"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    os.utime(stale, (1_000_000, 1_000_000))

    class Current:
        settings = make_settings(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)

    remove_stale_uploads(Current)  # type: ignore[arg-type]
    assert not stale.exists()
