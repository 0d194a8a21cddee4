"""Search's provider directory (who is listed, in what order, their weekly windows) is a snapshot
read again once older than SEARCH_DIRECTORY_TTL_SECONDS; filters, bookings, the slots list and
booking always read the database."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, time

import pytest
import sqlalchemy as sa
import time_machine

from models import ProviderAvailability, ProviderProfile, User
from models.search.queries import DirectorySnapshot
from portal.ops.demo.data import DEFAULT_PROVIDERS
from portal.web.app import create_app
from tests.support.providers import (
    SEED_MORNING,
    book,
    last_names,
    search,
    slots_url,
    user_id,
)

TTL = 60.0
SATURDAY = "2026-11-28"  # Kim (provider15) is one of the six providers open on Saturdays


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def seed_morning() -> Iterator[None]:
    with time_machine.travel(SEED_MORNING, tick=False):
        yield


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ttl_client(app, services, clock):  # type: ignore[no-untyped-def]
    """A client of an app whose directory lives TTL seconds on `clock`."""
    snapshot = DirectorySnapshot(TTL, clock=clock)
    current = dataclasses.replace(services, search_directory=snapshot)
    return create_app(services.settings, current).test_client()


def _profile_id(session: sa.orm.Session, user: str) -> str:
    found = session.scalar(sa.select(ProviderProfile.id).where(ProviderProfile.user_id == user))
    assert found is not None
    return found


def test_changed_availability_shows_in_search_once_the_snapshot_is_too_old(
    ttl_client, patient, clock, db_session
):
    assert "Kim" in last_names(search(ttl_client, patient, date=SATURDAY))
    kim = user_id(db_session, "provider15@clinic.example")
    db_session.execute(
        sa.delete(ProviderAvailability).where(
            ProviderAvailability.provider_id == _profile_id(db_session, kim)
        )
    )
    db_session.commit()
    # the slots list reads availability fresh: Kim has no slot any more
    response = ttl_client.get(slots_url(kim), params={"date": SATURDAY}, headers=patient)
    assert response.json()["slots"] == []
    clock.now += TTL - 1
    assert "Kim" in last_names(search(ttl_client, patient, date=SATURDAY))
    clock.now += 1
    assert "Kim" not in last_names(search(ttl_client, patient, date=SATURDAY))
    cards = search(ttl_client, patient, specialty="cardiology")["data"]
    assert [(p["lastName"], p["nextAvailableDate"]) for p in cards] == [("Kim", None)]


def test_a_deactivated_provider_leaves_search_once_the_snapshot_is_too_old(
    ttl_client, patient, clock, db_session
):
    assert search(ttl_client, patient)["total"] == DEFAULT_PROVIDERS + 1
    kim = user_id(db_session, "provider15@clinic.example")
    db_session.execute(sa.update(User).where(User.id == kim).values(is_active=False))
    db_session.commit()
    assert search(ttl_client, patient)["total"] == DEFAULT_PROVIDERS + 1
    clock.now += TTL
    body = search(ttl_client, patient, limit=100)
    assert body["total"] == DEFAULT_PROVIDERS
    assert "Kim" not in last_names(body)


def test_bookings_and_filters_are_read_on_every_search(ttl_client, patient, db_session):
    saturday = search(ttl_client, patient, date=SATURDAY)
    assert "Kim" in last_names(saturday)
    kim = user_id(db_session, "provider15@clinic.example")
    db_session.execute(
        sa.update(ProviderProfile).where(ProviderProfile.user_id == kim).values(specialty="urology")
    )
    db_session.commit()
    assert "Kim" in last_names(search(ttl_client, patient, specialty="urology"))
    book(db_session, kim, date(2026, 11, 28), time(9), duration=240)  # Kim's whole Saturday
    assert "Kim" not in last_names(search(ttl_client, patient, date=SATURDAY))


def test_a_zero_ttl_reads_the_directory_for_every_search(app, services, patient, db_session):
    current = dataclasses.replace(services, search_directory=DirectorySnapshot(0))
    client = create_app(services.settings, current).test_client()
    assert search(client, patient)["total"] == DEFAULT_PROVIDERS + 1
    kim = user_id(db_session, "provider15@clinic.example")
    db_session.execute(sa.update(User).where(User.id == kim).values(is_active=False))
    db_session.commit()
    assert search(client, patient)["total"] == DEFAULT_PROVIDERS
