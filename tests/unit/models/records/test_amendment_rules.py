"""What an amendment changes, and which dates a record may carry."""

from __future__ import annotations

from datetime import date

from models.records.rules import amended_fields, record_date_refusal

CURRENT: dict[str, object] = {
    "type": "visit_note",
    "title": "Follow-up",
    "date": date(2025, 1, 15),
    "description": "Blood pressure improved.",
}


def test_only_fields_with_new_values_are_amended():
    proposed: dict[str, object] = {"title": "Follow-up", "description": "On 10 mg daily."}
    assert amended_fields(CURRENT, proposed) == {"description": "On 10 mg daily."}


def test_fields_outside_the_amendable_ones_are_ignored():
    proposed: dict[str, object] = {"patient_id": "someone else", "provider_id": "me"}
    assert amended_fields(CURRENT, proposed) == {}


def test_clearing_a_description_is_a_change():
    assert amended_fields(CURRENT, {"description": None}) == {"description": None}


def test_a_record_is_dated_today_or_earlier():
    today = date(2026, 12, 2)
    assert record_date_refusal(today, today) is None
    assert record_date_refusal(date(2020, 2, 29), today) is None
    assert record_date_refusal(date(2026, 12, 3), today) == "must not be in the future"
