"""Where attachment bytes live. One small interface (`Storage`); STORAGE_TYPE picks the backend.

- `LocalStorage`: files under STORAGE_PATH, written to a temporary name and renamed into place.
- `S3Storage`: one object per file, server-side encryption on every put.
- `EncryptedStorage` wraps either with the app's own streaming AES-GCM, so the bytes at rest are
  never the plaintext. Local storage always has it; S3 has it whenever a STORAGE_ENCRYPTION_KEY
  is configured.
"""

from __future__ import annotations

import logging

from adapters.storage.base import CHUNK_SIZE, UNAVAILABLE, Storage, check_key, new_storage_key
from adapters.storage.encrypted import EncryptedStorage
from adapters.storage.local import LocalStorage
from adapters.storage.s3 import S3Storage
from kernel.settings import Settings

__all__ = [
    "CHUNK_SIZE",
    "UNAVAILABLE",
    "EncryptedStorage",
    "LocalStorage",
    "S3Storage",
    "Storage",
    "check_key",
    "new_storage_key",
    "storage_from_settings",
]

logger = logging.getLogger("portal.storage")


def storage_from_settings(settings: Settings) -> Storage:
    """The configured backend, wrapped in the app's encryption when a key is available."""
    inner: Storage
    if settings.storage_type == "s3":
        inner = S3Storage.from_settings(settings)
    else:
        inner = LocalStorage(settings.storage_path)
    key = settings.storage_key
    if key is None:  # only S3 may run without one: the bucket's SSE encrypts at rest
        return inner
    if not settings.storage_encryption_key:
        logger.warning("STORAGE_ENCRYPTION_KEY is not set: using the public development key")
    return EncryptedStorage(inner, key)
