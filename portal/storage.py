"""Where attachment bytes live. One small interface; `STORAGE_TYPE` picks the backend."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from portal.errors import ServiceUnavailable

CHUNK_SIZE = 64 * 1024
_KEY = re.compile(r"^[a-z0-9][a-z0-9/_-]{0,200}$")


def new_storage_key(prefix: str) -> str:
    """A generated key: client file names never reach the storage layer."""
    return f"{prefix}/{uuid.uuid4().hex}"


class Storage(Protocol):
    def save(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the chunks under `key` (all or nothing); return the byte count."""

    def open(self, key: str) -> Iterator[bytes]:
        """Stream the stored bytes."""

    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files under one root directory; writes go to a temporary name, then an atomic rename."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key:
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

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
            tmp.unlink(missing_ok=True)
            raise ServiceUnavailable("File storage is unavailable") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    def open(self, key: str) -> Iterator[bytes]:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except OSError as exc:
            raise ServiceUnavailable("File storage is unavailable") from exc
        return _read_chunks(handle)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _read_chunks(handle) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    with handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


def storage_from_settings(settings) -> Storage:  # type: ignore[no-untyped-def]
    if settings.storage_type == "local":
        return LocalStorage(settings.storage_path)
    raise NotImplementedError("STORAGE_TYPE=s3 arrives with the medical records issue")
