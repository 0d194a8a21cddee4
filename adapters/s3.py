"""The one way this app opens an S3 (or S3-compatible) client, for the file store and the audit
checkpoints alike: the configured region, endpoint and credentials, short timeouts and two
attempts, so a slow bucket fails soon rather than holding a worker."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from kernel.settings import Settings


def s3_client(settings: Settings, read_timeout: int) -> Any:
    """A boto3 S3 client from the AWS_* settings, waiting at most `read_timeout` seconds for a
    read."""
    return boto3.client(
        "s3",
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        config=Config(
            connect_timeout=3,
            read_timeout=read_timeout,
            retries={"max_attempts": 2, "mode": "standard"},
            # S3-compatible servers on a plain host:port rarely do virtual-hosted buckets.
            s3={"addressing_style": "path" if settings.aws_endpoint_url else "auto"},
        ),
    )
