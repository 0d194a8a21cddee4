"""Where attachment bytes live. One small interface; `STORAGE_TYPE` picks the backend.

- `LocalStorage`: files under `STORAGE_PATH`, written to a temporary name and renamed into place.
- `S3Storage` (`portal/storage_s3.py`): one object per file, server-side encryption on every put.
- `EncryptedStorage` wraps either with the app's own streaming AES-GCM (`storage_crypto`), so the
  bytes at rest are never the plaintext. Local storage always has it; S3 has it whenever a
  `STORAGE_ENCRYPTION_KEY` is configured.

Every backend streams in chunks (memory stays flat whatever the file size), leaves nothing behind
when a write fails, and reports an unreachable or failing store as `ServiceUnavailable` (503).
`open` does its fallible work (open the file, fetch the object, check the header) before
returning, so a failure is a clean 503 rather than a response cut off after its headers.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from portal.errors import ServiceUnavailable
from portal.storage_crypto import CorruptFile, decrypt_stream, encrypt_stream

if TYPE_CHECKING:
    from portal.settings import Settings

logger = logging.getLogger("portal.storage")

# Streams move in 256 KiB pieces: each piece crosses from Flask's thread to the server's event
# loop, so larger pieces cost less CPU (measured: 55 -> 37 ms per 10 MB download) while a
# download in flight still holds only a few of them (bench/download_bench.py).
CHUNK_SIZE = 256 * 1024
_KEY = re.compile(r"^[a-z0-9][a-z0-9/_-]{0,200}$")
UNAVAILABLE = "File storage is unavailable"


def new_storage_key(prefix: str) -> str:
    """A generated key: client file names never reach the storage layer."""
    return f"{prefix}/{uuid.uuid4().hex}"


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"invalid storage key {key!r}")
    return key


class Storage(Protocol):
    def save(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the chunks under `key`, all or nothing; return the bytes written at rest.

        An exception raised by `chunks` itself (e.g. an upload over the size limit) leaves
        nothing stored and travels to the caller unchanged."""

    def open(self, key: str) -> Iterator[bytes]:
        """Stream the stored bytes; raises ServiceUnavailable before the first byte if it can't."""

    def delete(self, key: str) -> None:
        """Remove `key` if present (best effort: used to undo a write)."""


class LocalStorage:
    """Files under one root directory; writes go to a temporary name, then an atomic rename."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def save(self, key: str, chunks: Iterable[bytes]) -> int:
        path = self._path(key)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        size = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            _discard(tmp)
            logger.error("local storage: writing %s failed: %s", key, exc)
            raise ServiceUnavailable(UNAVAILABLE) from exc
        except BaseException:
            _discard(tmp)
            raise
        return size

    def open(self, key: str) -> Iterator[bytes]:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except OSError as exc:
            logger.error("local storage: opening %s failed: %s", key, exc)
            raise ServiceUnavailable(UNAVAILABLE) from exc
        return _read_chunks(handle)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            logger.error("local storage: deleting %s failed: %s", key, exc)


def _discard(path: Path) -> None:
    """Remove a partial file; if even that fails there is nothing better to do than log."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("local storage: could not remove %s: %s", path, exc)


def _read_chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


class EncryptedStorage:
    """Encrypts on the way in and decrypts on the way out, around any other backend."""

    def __init__(self, inner: Storage, master_key: bytes) -> None:
        self.inner = inner
        self._master_key = master_key

    def save(self, key: str, chunks: Iterable[bytes]) -> int:
        return self.inner.save(key, encrypt_stream(self._master_key, key, chunks))

    def open(self, key: str) -> Iterator[bytes]:
        plain = decrypt_stream(self._master_key, key, self.inner.open(key))
        try:
            # Check the header and the first segment now, while an error can still be a 503.
            first = next(plain, None)
        except CorruptFile as exc:
            logger.error("stored file %s does not decrypt: %s", key, exc)
            raise ServiceUnavailable("Stored file could not be read") from exc
        return _regroup(itertools.chain([first] if first else [], plain), CHUNK_SIZE)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


def _regroup(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """The same bytes in pieces of about `size` (the cipher works in 64 KiB segments)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) >= size:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def storage_from_settings(settings: Settings) -> Storage:
    """The configured backend, wrapped in the app's encryption when a key is available."""
    inner: Storage
    if settings.storage_type == "s3":
        from portal.storage_s3 import S3Storage

        inner = S3Storage.from_settings(settings)
    else:
        inner = LocalStorage(settings.storage_path)
    key = settings.storage_key
    if key is None:  # only S3 may run without one: the bucket's SSE encrypts at rest
        return inner
    if not settings.storage_encryption_key:
        logger.warning("STORAGE_ENCRYPTION_KEY is not set: using the public development key")
    return EncryptedStorage(inner, key)
