"""Schema findings become one `{field, message}` per offending field, named as sent."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft4Validator

from kernel.errors import FieldError
from portal.web.validation import FORMAT_CHECKER, field_errors

FREE_TEXT = {"type": "string", "pattern": "^[^\\x00-\\x08\\x0B-\\x1F\\x7F]*$"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["date", "time", "reason"],
    "properties": {
        "date": {"type": "string", "format": "date"},
        "time": {"type": "string", "pattern": "^(0[1-9]|1[0-2]):[0-5][0-9] (AM|PM)$"},
        "reason": {"allOf": [FREE_TEXT], "minLength": 10, "maxLength": 500},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100},
        "type": {"enum": ["a", "b"]},
        "provider": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string", "format": "uuid"}},
        },
    },
}


def errors_for(body: Any) -> dict[str, str]:
    validator = Draft4Validator(SCHEMA, format_checker=FORMAT_CHECKER)
    return {e.field: e.message for e in field_errors(validator.iter_errors(body))}


def test_every_missing_field_is_reported() -> None:
    assert errors_for({}) == {"date": "is required", "time": "is required", "reason": "is required"}


def test_each_offending_field_gets_its_own_message() -> None:
    found = errors_for(
        {"date": "2025-13-45", "time": "10:00", "reason": "short", "limit": 101, "type": "c"}
    )
    assert found == {
        "date": "must be a date in YYYY-MM-DD format",
        "time": "must be a time in hh:mm AM/PM format, e.g. 10:00 AM",
        "reason": "must be at least 10 characters",
        "limit": "must be at most 100",
        "type": "must be one of: a, b",
    }


def test_unknown_fields_are_named() -> None:
    body = {"date": "2025-01-15", "time": "10:00 AM", "reason": "a valid reason", "evil": 1}
    assert errors_for(body) == {"evil": "is not an allowed field"}


def test_control_characters_in_free_text_are_reported_on_the_field() -> None:
    body = {"date": "2025-01-15", "time": "10:00 AM", "reason": "bad \x07 bell character"}
    assert errors_for(body) == {"reason": "must not contain control characters"}
    ok = {"date": "2025-01-15", "time": "10:00 AM", "reason": "line one\nline two\tok"}
    assert errors_for(ok) == {}


def test_nested_fields_use_dotted_paths() -> None:
    body = {"date": "2025-01-15", "time": "10:00 AM", "reason": "a valid reason", "provider": {}}
    assert errors_for(body) == {"provider.id": "is required"}
    body["provider"] = {"id": "not-a-uuid"}
    assert errors_for(body) == {"provider.id": "must be a UUID"}


def test_wrong_top_level_type_is_reported_on_the_body() -> None:
    assert errors_for([1, 2]) == {"body": "must be of type object"}


def test_field_error_is_a_value() -> None:
    assert FieldError("a", "b") == FieldError("a", "b")
