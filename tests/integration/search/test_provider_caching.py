"""Caching headers of the providers API and search's validation errors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, time

import pytest
import time_machine

from tests.support.providers import (
    SEARCH,
    SEED_MORNING,
    book,
    slots_url,
    user_id,
    validation_fields,
)


@pytest.fixture(autouse=True)
def seed_morning() -> Iterator[None]:
    with time_machine.travel(SEED_MORNING, tick=False):
        yield


FILTERS = {"specialty": "family_medicine", "location": "MA"}


def test_search_is_publicly_cacheable_with_a_strong_etag_of_the_body(client, patient):
    response = client.post(SEARCH, json=FILTERS, headers=patient)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    etag = response.headers["ETag"]
    assert not etag.startswith("W/")
    assert etag == f'"{hashlib.sha256(response.content).hexdigest()}"'


def test_identical_bodies_get_the_same_etag_and_different_ones_another(client, patient, auth):
    first = client.post(SEARCH, json=FILTERS, headers=patient)
    # another caller, same body: the same result and validator
    again = client.post(SEARCH, json=FILTERS, headers=auth("nurse1@example.com"))
    other = client.post(SEARCH, json={"specialty": "cardiology"}, headers=patient)
    assert first.headers["ETag"] == again.headers["ETag"]
    assert first.content == again.content
    assert other.headers["ETag"] != first.headers["ETag"]


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", 'W/{etag}', '"stale", {etag}', "*"],
)  # fmt: skip
def test_a_matching_if_none_match_answers_304_without_a_body(client, patient, if_none_match):
    etag = client.post(SEARCH, json=FILTERS, headers=patient).headers["ETag"]
    headers = patient | {"If-None-Match": if_none_match.format(etag=etag)}
    response = client.post(SEARCH, json=FILTERS, headers=headers)
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_a_stale_etag_gets_the_full_answer(client, patient):
    etag = client.post(SEARCH, json=FILTERS, headers=patient).headers["ETag"]
    response = client.post(
        SEARCH, json={"specialty": "cardiology"}, headers=patient | {"If-None-Match": etag}
    )
    assert response.status_code == 200
    assert response.json()["total"] == 1


def test_the_etag_changes_when_the_result_does(client, patient, db_session):
    body = {"specialty": "family_medicine", "date": "2026-11-25"}
    before = client.post(SEARCH, json=body, headers=patient)
    assert "Bennett" in [p["lastName"] for p in before.json()["data"]]
    bennett = user_id(db_session, "provider17@clinic.example")  # schedule 0, every weekday
    book(db_session, bennett, date(2026, 11, 25), time(9), duration=180)
    book(db_session, bennett, date(2026, 11, 25), time(13), duration=240)
    after = client.post(
        SEARCH, json=body, headers=patient | {"If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "Bennett" not in [p["lastName"] for p in after.json()["data"]]


def test_slots_are_privately_cacheable_for_a_minute(client, patient, db_session):
    provider = user_id(db_session, "doctor1@example.com")
    response = client.get(slots_url(provider), params={"date": "2026-12-01"}, headers=patient)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, max-age=60"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"specialty": "dentistry"}, "specialty"),
        ({"specialty": "Family Medicine"}, "specialty"),  # the display name is not the enum
        ({"location": "x" * 201}, "location"),
        ({"location": "Boston\x00"}, "location"),
        ({"insuranceAccepted": "y" * 101}, "insuranceAccepted"),
        ({"date": "2026-13-01"}, "date"),
        ({"date": "11/28/2026"}, "date"),
        ({"date": 20261128}, "date"),
        ({"page": 0}, "page"),
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"sort": "rating"}, "sort"),  # unknown fields are refused
    ],
)
def test_search_validation_errors_name_the_field(client, patient, body, field):
    assert field in validation_fields(client.post(SEARCH, json=body, headers=patient))


def test_search_reports_every_bad_field_at_once(client, patient):
    fields = validation_fields(
        client.post(SEARCH, json={"specialty": "x", "date": "soon", "extra": 1}, headers=patient)
    )
    assert set(fields) == {"specialty", "date", "extra"}


def test_limits_at_the_edge_are_accepted(client, patient):
    body = {"location": "x" * 200, "insuranceAccepted": "y" * 100, "limit": 100}
    response = client.post(SEARCH, json=body, headers=patient)
    assert response.status_code == 200
    assert response.json() == {"data": [], "total": 0}
