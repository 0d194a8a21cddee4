"""The street-address pattern of a location term: LIKE's wildcards and its escape taken
literally."""

from __future__ import annotations

import pytest

from models.providers.queries import address_pattern


@pytest.mark.parametrize(
    ("term", "pattern"),
    [
        ("cambridge st", "%cambridge st%"),
        ("100%", "%100/%%"),
        ("suite _00", "%suite /_00%"),
        ("1/2 main", "%1//2 main%"),
        ("/%_", "%///%/_%"),
    ],
)
def test_address_pattern_escapes_wildcards_and_the_escape(term: str, pattern: str) -> None:
    assert address_pattern(term) == pattern
