"""S3 (or any S3-compatible server) as the file store, through boto3.

Small files are one `PutObject`; larger ones a multipart upload of 8 MiB parts, aborted if
anything fails, so a failed write leaves no object and no orphaned parts. Every put asks for
server-side encryption. Reads stream the object body in 64 KiB chunks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from adapters.s3 import s3_client
from adapters.storage.base import CHUNK_SIZE, UNAVAILABLE, check_key
from kernel.errors import Unavailable
from kernel.settings import Settings

logger = logging.getLogger("portal.storage")

PART_SIZE = 8 * 1024 * 1024  # S3 wants at least 5 MiB for every part but the last
SSE = {"ServerSideEncryption": "AES256"}
_S3_ERRORS = (BotoCoreError, ClientError)


class S3Storage:
    def __init__(self, client: Any, bucket: str, part_size: int = PART_SIZE) -> None:
        self.client = client
        self.bucket = bucket
        self.part_size = part_size

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        client = s3_client(settings, read_timeout=20)
        return cls(client, settings.aws_s3_bucket)

    def save(self, key: str, chunks: Iterable[bytes]) -> int:
        check_key(key)
        source = iter(chunks)
        first = _take(source, self.part_size)
        try:
            if len(first) < self.part_size:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=first, **SSE)
                return len(first)
            return self._multipart(key, first, source)
        except _S3_ERRORS as exc:
            logger.error("s3: writing %s failed: %s", key, exc)
            raise Unavailable(UNAVAILABLE) from exc

    def _multipart(self, key: str, first: bytes, source: Iterator[bytes]) -> int:
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, **SSE)[
            "UploadId"
        ]
        try:
            parts: list[dict[str, Any]] = []
            size, body = 0, first
            while body:
                number = len(parts) + 1
                answer = self.client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                size += len(body)
                body = _take(source, self.part_size)
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
            return size
        except BaseException:
            self._abort(key, upload_id)
            raise

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except _S3_ERRORS as exc:  # the bucket's lifecycle rule must then reap the parts
            logger.error("s3: aborting the upload of %s failed: %s", key, exc)

    def open(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]
        except _S3_ERRORS as exc:
            logger.error("s3: reading %s failed: %s", key, exc)
            raise Unavailable(UNAVAILABLE) from exc
        return _stream(body)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        except _S3_ERRORS as exc:
            logger.error("s3: deleting %s failed: %s", key, exc)


def _take(source: Iterator[bytes], limit: int) -> bytes:
    """Up to about `limit` bytes from `source` (stops at the first chunk that reaches it)."""
    buffer = bytearray()
    for chunk in source:
        buffer += chunk
        if len(buffer) >= limit:
            break
    return bytes(buffer)


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_SIZE)
    finally:
        body.close()
