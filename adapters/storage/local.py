"""Files under one root directory (STORAGE_PATH): written to a temporary name, then renamed.

A temporary `.<name>.<uuid>.part` file is never served (a storage key has no dot); one that a
killed process left behind is removed at the next start (`remove_stale_parts`)."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from adapters.storage.base import CHUNK_SIZE, UNAVAILABLE, check_key
from kernel.errors import Unavailable

logger = logging.getLogger("portal.storage")


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
            raise Unavailable(UNAVAILABLE) from exc
        except BaseException:
            _discard(tmp)
            raise
        return size

    def open(self, key: str) -> Iterator[bytes]:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except OSError as exc:
            logger.error("local storage: opening %s failed: %s", key, exc)
            raise Unavailable(UNAVAILABLE) from exc
        return _read_chunks(handle)

    def remove_stale_parts(self, older_than_seconds: float) -> int:
        """Remove the `.part` files untouched for `older_than_seconds` (their writer died: a
        live upload touches its file with every chunk); returns how many went."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for part in self.root.rglob(".*.part"):
            try:
                if part.is_file() and part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
            except OSError as exc:
                logger.warning("local storage: could not remove %s: %s", part, exc)
        if removed:
            logger.warning(
                "local storage: removed %d unfinished upload(s) left by a crash", removed
            )
        return removed

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
