"""Where the audit chain's head is checkpointed, outside the database (AUDIT_CHECKPOINT): an
append-only file, or one object per checkpoint in an S3 bucket. The lines are opaque here;
models.audit.rules makes and checks them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from adapters.s3 import s3_client
from kernel.settings import Settings


class CheckpointLog(Protocol):
    """Lines appended, never changed; `lines` returns every one ever appended, in any order."""

    @property
    def where(self) -> str: ...

    def append(self, line: str) -> None: ...

    def lines(self) -> Iterator[str]: ...


class FileCheckpointLog:
    """One line per checkpoint, appended (O_APPEND, one write per line, synced to disk). Make
    the file append-only for the server's user (`chattr +a`) or ship it elsewhere: a file the
    database's attacker can also edit protects nothing."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def where(self) -> str:
        return f"file://{self.path}"

    def append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(descriptor, f"{line}\n".encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def lines(self) -> Iterator[str]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8", errors="replace") as file:
            for line in file:
                if line.strip():
                    yield line.rstrip("\n")


class S3CheckpointLog:
    """One object per checkpoint under `prefix/`, its key the line itself (spaces as `_`), so a
    listing reads every checkpoint without a GET. Turn on the bucket's Object Lock (or deny
    the server's credentials s3:DeleteObject on the prefix) so none can be taken back."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    @classmethod
    def from_settings(cls, settings: Settings, bucket: str, prefix: str) -> S3CheckpointLog:
        client = s3_client(settings, read_timeout=10)
        return cls(client, bucket, prefix)

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, line: str) -> str:
        name = line.replace(" ", "_")
        return f"{self.prefix}/{name}" if self.prefix else name

    def append(self, line: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(line),
            Body=f"{line}\n".encode(),
            ServerSideEncryption="AES256",
        )

    def lines(self) -> Iterator[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield str(item["Key"])[len(start) :].replace("_", " ")


def checkpoint_log_from_settings(settings: Settings) -> CheckpointLog | None:
    """The log AUDIT_CHECKPOINT names; None when checkpoints are off (development and test)."""
    url = settings.checkpoint_url
    if url is None:
        return None
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return S3CheckpointLog.from_settings(settings, bucket, prefix or "audit-checkpoints")
    return FileCheckpointLog(url.removeprefix("file://"))
