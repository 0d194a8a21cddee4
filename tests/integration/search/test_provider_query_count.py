"""No N+1: the SQL statements one search runs are a constant, however many providers match
and however many bookings they have (counted with SQLAlchemy's before_cursor_execute)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
import time_machine

from portal.ops.demo.providers import SeedReport, seed_providers
from portal.ops.demo.scale import seed_generated_appointments
from tests.conftest import DEMO_PASSWORD, SEED_DAY
from tests.support.providers import SEARCH, SEED_MORNING, slots_url, user_id

# With the search directory read (models/search_directory.py): the filters (when given), the
# day's bookings (with `date`), the page's profiles with their shown locations, the page's
# bookings of the next two weeks (and of the rest of the horizon for providers without a free
# day in those), the time off and extra hours of the `date` (when given) and of the page's
# horizon; plus SQLite's BEGIN.
MAX_STATEMENTS = 8
# Reading the directory, once per SEARCH_DIRECTORY_TTL_SECONDS: providers in order, windows.
DIRECTORY_STATEMENTS = 2

BODIES = [
    {},
    {"specialty": "family_medicine"},
    {"location": "MA"},
    {"insuranceAccepted": "Aetna"},
    {"date": "2026-11-30"},
    {"specialty": "family_medicine", "location": "MA", "insuranceAccepted": "aetna",
     "date": "2026-11-30"},
]  # fmt: skip


@contextmanager
def counted(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _statements_of_search(client, services, headers, body) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Statements of one search once the directory is read, and the providers it shows."""
    client.post(SEARCH, json=body, headers=headers)  # reads the directory if it must
    with counted(services.db.engine) as statements:
        response = client.post(SEARCH, json=body | {"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    return len(statements), len(response.json()["data"])


def test_statements_per_search_do_not_grow_with_providers_or_bookings(client, auth, services):
    with time_machine.travel(SEED_MORNING, tick=False):
        headers = auth("patient1@example.com")
        few = [_statements_of_search(client, services, headers, body) for body in BODIES]

        def grow(session: sa.orm.Session) -> None:
            seed_providers(session, 72, DEMO_PASSWORD, SeedReport())
            session.flush()
            seed_generated_appointments(session, 1000, SEED_DAY, SeedReport())

        services.db.run(grow)
        services.search_directory.clear()  # as if its time were up: search sees the new providers
        many = [_statements_of_search(client, services, headers, body) for body in BODIES]
    for body, (few_statements, few_shown), (many_statements, _) in zip(
        BODIES, few, many, strict=True
    ):
        assert few_shown > 0, body
        assert few_statements <= MAX_STATEMENTS, body
        assert many_statements == few_statements, body
    shown = [(f[1], m[1]) for f, m in zip(few, many, strict=True)]
    assert shown[0] == (25, 73)  # the page really did hold the 48 providers added


def test_reading_the_directory_adds_a_fixed_number_of_statements(client, auth, services):
    with time_machine.travel(SEED_MORNING, tick=False):
        headers = auth("patient1@example.com")
        for body in BODIES:
            warm, _ = _statements_of_search(client, services, headers, body)
            services.search_directory.clear()
            with counted(services.db.engine) as statements:
                client.post(SEARCH, json=body | {"limit": 100}, headers=headers)
            assert len(statements) == warm + DIRECTORY_STATEMENTS, body


def test_statements_per_slots_request_are_a_constant(client, auth, services, db_session):
    provider = user_id(db_session, "doctor1@example.com")
    with time_machine.travel(SEED_MORNING, tick=False):
        headers = auth("patient1@example.com")
        with counted(services.db.engine) as statements:
            response = client.get(
                slots_url(provider), params={"date": "2026-12-01"}, headers=headers
            )
    assert response.status_code == 200
    # the provider with its windows of the day, the date's time off and extra hours and the day's
    # bookings, in one statement (+ SQLite's BEGIN)
    assert len([s for s in statements if not s.startswith("BEGIN")]) == 1, statements
