"""Any store, with the app's own streaming AES-GCM around it (`adapters.storage.crypto`), so the
bytes at rest are never the plaintext."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator

from adapters.storage.base import CHUNK_SIZE, Storage
from adapters.storage.crypto import CorruptFile, decrypt_stream, encrypt_stream
from kernel.errors import Unavailable

logger = logging.getLogger("portal.storage")


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
            raise Unavailable("Stored file could not be read") from exc
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
