"""The one interface every file store implements, and the rules for its keys.

Every backend streams in chunks (memory stays flat whatever the file size), leaves nothing behind
when a write fails, and reports an unreachable or failing store as `Unavailable`. `open` does its
fallible work (open the file, fetch the object, check the header) before returning, so a failure
is a clean error rather than a response cut off after its headers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Protocol

# Streams move in 256 KiB pieces: each piece crosses from Flask's thread to the server's event
# loop, so larger pieces cost less CPU per download, while a download in flight still holds only
# a few of them (docs/performance.md, bench/download_bench.py).
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
