"""Fixtures of the integration tests beyond the shared ones in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.s3_server import S3Server, start_s3_server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server, started once per session on a loopback port."""
    with start_s3_server() as server:
        yield server
