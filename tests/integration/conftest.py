"""Fixtures of the integration tests beyond the shared ones in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import temporary_mysql_database
from tests.support.appointments import NEXT_WEDNESDAY, booking, user_id
from tests.support.s3_server import S3Server, start_s3_server


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file, then a MariaDB database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    with temporary_mysql_database("portal_mig") as url:
        yield url


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server, started once per session on a loopback port."""
    with start_s3_server() as server:
        yield server


@pytest.fixture
def doctor(db_session) -> str:  # type: ignore[no-untyped-def]
    """The user id of doctor1, the demo provider."""
    return user_id(db_session, "doctor1@example.com")


@pytest.fixture
def booked(client, auth, doctor) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """patient1's fresh routine check-up with doctor1 next Wednesday at 09:00 (the requesting
    module freezes the clock before it)."""
    response = client.post(
        "/api/appointments",
        json=booking(doctor, NEXT_WEDNESDAY, "09:00 AM", notes="Fasting since midnight"),
        headers=auth("patient1@example.com"),
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def patient(auth) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Headers of patient1, the demo patient."""
    return auth("patient1@example.com")
