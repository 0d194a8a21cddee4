"""What booking's outbox writes cost, in `make bench`.

POST /api/appointments on the real server and on the counterfactual one (`bench.no_outbox`: the
same app with booking's `on_booked` a no-op), both up at once on the same database, driven by the
same closed-loop client in alternating turns (with, without, without, with: a drift of the
machine falls on both alike), each booking its own free slots. Per booking: the server CPU, the
SQL statements by kind (each server's /metrics before and after each turn, less what reading
/metrics runs itself) and the outbox rows written. Then, in this process on the same database,
what `on_booked` costs by itself: its rows built and inserted, against its rows built alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import sqlalchemy as sa

from bench.closed_loop import Endpoint, Request, Sample, sample, spread, summarize
from bench.harness import (
    LOAD_PHI_KEYS,
    LOAD_STORAGE_KEY,
    LoadDatabase,
    Server,
    fetch_metrics,
    scrape_cost,
    statement_counts,
)

BOOK = "POST /api/appointments (book)"
BOOK_WITHOUT_OUTBOX = "POST /api/appointments (book, outbox writes removed: bench counterfactual)"
SIDES = ("with", "without")
TURNS = ("with", "without", "without", "with") * 2
WARM_UP_BOOKINGS = 4  # per connection and server, before the turns, not counted
IN_PROCESS_CALLS = 300
Slot = tuple[str, str, str]  # providerId, date, time


def slots_needed(writes: int, connections: int) -> int:
    """Free slots the comparison books: `writes` per server, and the warm-ups."""
    return 2 * (writes + WARM_UP_BOOKINGS * connections)


def book_endpoint(
    name: str, slots: list[Slot], auth: list[dict[str, str]], booked: list[list[str]] | None
) -> Endpoint:
    """Each connection books its share of `slots`, once each; the new ids go to `booked`."""
    queues = spread(slots, len(auth))

    def next_booking(i: int) -> Request | None:
        if not queues[i]:
            return None
        provider_id, day, start = queues[i].pop()
        body = {
            "providerId": provider_id,
            "date": day,
            "time": start,
            "type": "routine_checkup",
            "reason": "Benchmark: annual checkup visit",
        }
        return ("POST", "/api/appointments", body)

    def keep(i: int, status: int, body: bytes) -> None:
        if booked is not None and status == 201:
            booked[i].append(json.loads(body)["id"])

    return Endpoint(name, next_booking, {201}, auth.__getitem__, keep)


def compare(
    servers: dict[str, Server],
    auth: dict[str, list[dict[str, str]]],
    slots: list[Slot],
    seconds: float,
    db: LoadDatabase,
) -> tuple[list[dict[str, Any]], list[list[str]], dict[str, Any]]:
    """The two report rows (with, without), the ids booked with the outbox (per connection),
    and the comparison's figures."""
    connections = len(auth["with"])
    warm_count = 2 * WARM_UP_BOOKINGS * connections
    warm, measured = slots[:warm_count], slots[warm_count:]
    names = {"with": BOOK, "without": BOOK_WITHOUT_OUTBOX}
    booked: dict[str, list[list[str]]] = {side: [[] for _ in range(connections)] for side in SIDES}
    # Each turn its own share of its server's slots: one that runs out ends early, and the
    # turns still weigh alike.
    turns_each = TURNS.count("with")
    endpoints = {
        side: [
            book_endpoint(names[side], share, auth[side], booked[side])
            for share in _shares(measured[index::2], turns_each)
        ]
        for index, side in enumerate(SIDES)
    }
    for index, side in enumerate(SIDES):
        warm_up = book_endpoint("warm-up", warm[index::2], auth[side], None)
        sample(servers[side].base_url, warm_up, 60, connections, servers[side].pid)
    scrape = {side: scrape_cost(servers[side]) for side in SIDES}
    samples: dict[str, list[Sample]] = {side: [] for side in SIDES}
    statements: dict[str, dict[str, float]] = {side: {} for side in SIDES}
    for side in TURNS:
        server, endpoint = servers[side], endpoints[side][len(samples[side])]
        before = statement_counts(fetch_metrics(server))
        turn = sample(server.base_url, endpoint, seconds / turns_each, connections, server.pid)
        samples[side].append(turn)
        after = statement_counts(fetch_metrics(server))
        for kind in after:
            ran = after[kind] - before.get(kind, 0.0) - scrape[side].get(kind, 0.0)
            statements[side][kind] = statements[side].get(kind, 0.0) + ran
    rows = [summarize(endpoints[side][0], samples[side]) for side in SIDES]
    figures = {
        side: _per_booking(row, statements[side], _outbox_rows(db, booked[side]))
        | {"cpu_ms_per_booking_by_turn": _per_turn(samples[side])}
        for side, row in zip(SIDES, rows, strict=True)
    }
    for side, row in zip(SIDES, rows, strict=True):
        row["sql_per_request"] = figures[side]["sql_per_booking"]
    without_outbox = [ids for per_connection in booked["without"] for ids in per_connection]
    report = {
        "turns": list(TURNS),
        "with_outbox": figures["with"],
        "without_outbox": figures["without"],
        "difference": _difference(figures["with"], figures["without"]),
        "on_booked_in_process": on_booked_in_process(db, without_outbox, IN_PROCESS_CALLS),
    }
    return rows, booked["with"], report


def _shares(slots: list[Slot], count: int) -> list[list[Slot]]:
    size = -(-len(slots) // count)
    return [slots[i * size : (i + 1) * size] for i in range(count)]


def _per_turn(samples: list[Sample]) -> list[float | None]:
    return [
        round(one.cpu * 1000 / len(one.latencies), 2) if one.latencies else None for one in samples
    ]


def _outbox_rows(db: LoadDatabase, booked: list[list[str]]) -> int:
    ids = [appointment for per_connection in booked for appointment in per_connection]
    if not ids:
        return 0
    engine = sa.create_engine(db.url)
    try:
        with engine.connect() as connection:
            outbox = sa.table("notification_outbox", sa.column("appointment_id"))
            query = sa.select(sa.func.count()).where(outbox.c.appointment_id.in_(ids))
            return int(connection.scalar(query) or 0)
    finally:
        engine.dispose()


def _per_booking(row: dict[str, Any], statements: dict[str, float], rows: int) -> dict[str, Any]:
    bookings = row["requests"] or 1
    by_kind = {kind: round(count / bookings, 2) for kind, count in sorted(statements.items())}
    return {
        "bookings": row["requests"],
        "cpu_ms_per_booking": row["cpu_ms_per_request"],
        "sql_per_booking": round(sum(statements.values()) / bookings, 2),
        "sql_per_booking_by_kind": {kind: n for kind, n in by_kind.items() if n},
        "outbox_rows_per_booking": round(rows / bookings, 2),
    }


def _difference(with_outbox: dict[str, Any], without: dict[str, Any]) -> dict[str, Any]:
    kinds = {**with_outbox["sql_per_booking_by_kind"], **without["sql_per_booking_by_kind"]}
    by_kind = {
        kind: round(
            with_outbox["sql_per_booking_by_kind"].get(kind, 0.0)
            - without["sql_per_booking_by_kind"].get(kind, 0.0),
            2,
        )
        for kind in sorted(kinds)
    }
    cpu_with, cpu_without = with_outbox["cpu_ms_per_booking"], without["cpu_ms_per_booking"]
    return {
        "cpu_ms_per_booking": (
            round(cpu_with - cpu_without, 2) if None not in (cpu_with, cpu_without) else None
        ),
        "sql_per_booking": round(with_outbox["sql_per_booking"] - without["sql_per_booking"], 2),
        "sql_per_booking_by_kind": by_kind,
    }


# --- on_booked by itself, in this process ------------------------------------------------------


def on_booked_in_process(
    db: LoadDatabase, appointment_ids: list[str], calls: int
) -> dict[str, Any]:
    """CPU of this thread per `on_booked` (the outbox writes of one booking: its rows built and
    inserted) and per the same with the INSERT removed (its rows built alone), on appointments
    of `db` that have no messages, in one transaction rolled back; and the INSERT statements
    MariaDB received per call (its session's Com_insert)."""
    from kernel.clock import Clock
    from kernel.settings import load_settings
    from models import Appointment
    from models.appointments.use_cases.appointments import visit_of
    from models.notifications import queries
    from models.notifications import use_cases as notifications
    from portal.runtime import build_services

    if not appointment_ids:
        return {}
    settings = load_settings(
        app_env="development",
        database_url=db.url,
        storage_path=str(db.storage_path),
        phi_encryption_keys=LOAD_PHI_KEYS,
        storage_encryption_key=LOAD_STORAGE_KEY,
    )
    current = build_services(settings)
    clock = Clock.at_clinic(settings.clinic_zone)
    session = current.db.new_session()
    try:
        visits = []
        for appointment_id in appointment_ids:
            appointment = session.get(Appointment, appointment_id)
            if appointment is not None:
                visit = visit_of(appointment, "Benchmark Provider", clock)
                visits.append((visit, appointment.patient_id))

        def book(count: int) -> None:
            for index in range(count):
                visit, patient_id = visits[index % len(visits)]
                notifications.on_booked(session, visit, patient_id, clock.now, current.outbox)

        book(10)  # statements compiled, connection checked out
        full = _thread_cost(session, book, calls)
        with mock.patch.object(queries, "add_messages", lambda *_args: None):
            rows_only = _thread_cost(session, book, calls)
        outbox = sa.table("notification_outbox", sa.column("appointment_id"))
        ids = [visit.appointment_id for visit, _patient in visits]
        rows = session.scalar(sa.select(sa.func.count()).where(outbox.c.appointment_id.in_(ids)))
    finally:
        session.rollback()
        session.close()
        current.db.dispose()
    return {
        "calls": calls,
        "cpu_ms_per_booking": round(full["cpu_ms"], 3),
        "rows_built_alone_cpu_ms": round(rows_only["cpu_ms"], 3),
        "insert_cpu_ms": round(full["cpu_ms"] - rows_only["cpu_ms"], 3),
        "mariadb_inserts_per_booking": round(full["inserts"], 2),
        "rows_per_booking": round((rows or 0) / (calls + 10), 2),
    }


def _thread_cost(session: Any, work: Callable[[int], None], calls: int) -> dict[str, float]:
    def inserts() -> int:
        row = session.execute(sa.text("SHOW SESSION STATUS LIKE 'Com_insert'")).one()
        return int(row[1])

    before = inserts()
    started = time.thread_time()
    work(calls)
    cpu = time.thread_time() - started
    return {"cpu_ms": cpu * 1000 / calls, "inserts": (inserts() - before) / calls}


def describe(report: dict[str, Any]) -> str:
    """The comparison in a few printed lines."""
    with_outbox, without, difference = (
        report["with_outbox"],
        report["without_outbox"],
        report["difference"],
    )
    own = report["on_booked_in_process"]

    def kinds(figures: dict[str, Any]) -> str:
        return ", ".join(f"{kind} {n}" for kind, n in figures["sql_per_booking_by_kind"].items())

    lines = [
        f"booking's outbox writes ({with_outbox['bookings']} bookings with, "
        f"{without['bookings']} without, turns {'/'.join(report['turns'])}):",
        f"  server CPU ms/booking: with {with_outbox['cpu_ms_per_booking']}, without "
        f"{without['cpu_ms_per_booking']}, difference {difference['cpu_ms_per_booking']} "
        f"(by turn: with {with_outbox['cpu_ms_per_booking_by_turn']}, without "
        f"{without['cpu_ms_per_booking_by_turn']})",
        f"  SQL/booking: with {with_outbox['sql_per_booking']} ({kinds(with_outbox)}); without "
        f"{without['sql_per_booking']} ({kinds(without)}); difference "
        f"{difference['sql_per_booking']} ({kinds(difference)})",
        f"  outbox rows/booking: with {with_outbox['outbox_rows_per_booking']}, without "
        f"{without['outbox_rows_per_booking']}",
    ]
    if own:
        lines.append(
            f"  on_booked in process: {own['cpu_ms_per_booking']} CPU ms/booking (rows built "
            f"{own['rows_built_alone_cpu_ms']}, the INSERT {own['insert_cpu_ms']}), "
            f"{own['mariadb_inserts_per_booking']} INSERT statements at MariaDB, "
            f"{own['rows_per_booking']} rows"
        )
    return "\n".join(lines)
