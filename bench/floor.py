"""`make bench`: server CPU per request of every endpoint, beside the framework floor.

Starts the server (`portal serve --workers N`, production settings, MariaDB with the demo data,
Redis for the limiter), then drives one endpoint after another with the same closed-loop client
(C keep-alive connections, one simulated patient each). For each endpoint it reads the user +
system time of every server process (the master and its workers, `/proc/<pid>/stat`) before and
after, and divides by the requests served: CPU ms per request, a figure that does not move with
the machine's load the way latency does; and of that, the part of the processes' main threads,
where each worker's event loop runs connexion's ASGI layers (the rest is the Flask request
threads and the background threads: `closed_loop.cpu_split`). Then it serves the same way the
two one-operation apps of `bench.floor_apps` (a connexion FlaskApp: the framework floor; bare
Starlette) and measures them with the same client, so every endpoint gets its ratio to the
floor of the same run.

Login (argon2, deliberately slow) is reported apart. Writes (book, reschedule, cancel) each use
their own free slot or appointment, gathered before they are measured. Booking is also measured
on a second server started beside the first, the counterfactual `bench.no_outbox` (the same app
and settings, booking's outbox writes removed), in alternating turns: `bench.booking_outbox`.
Prints the table and the booking comparison and writes bench/results/bench.json; an endpoint
answering anything unexpected says so.

    python -m bench.floor [--seconds 8] [--connections 8] [--workers 2] [--only book]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import booking_outbox
from bench.closed_loop import (
    SPECIALTIES,
    Endpoint,
    Request,
    drive,
    free_slots,
    from_queues,
    login,
    repeat,
    send,
)
from bench.harness import (
    LOAD_PASSWORD,
    RESULTS,
    ROOT,
    LoadDatabase,
    Server,
    fetch_metrics,
    free_port,
    load_database,
    load_patient_email,
    running_server,
    scrape_cost,
    statement_counts,
)
from tests.support import child_server


def _small_download(base: str, headers: dict[str, str]) -> str:
    """The download URL of one of the patient's small attachments."""
    records = send(base, "GET", "/api/medical-records", None, headers)["data"]
    return next(
        attachment["url"]
        for record in records
        for attachment in record.get("attachments", [])
        if attachment["fileSize"] < 1024 * 1024
    )


def run_endpoints(
    servers: dict[str, Server],
    db: LoadDatabase,
    timing: tuple[float, int],
    writes: int,
    only: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every endpoint's row on `servers["with"]` (booking also on `servers["without"]`, the
    counterfactual), and the booking comparison (`bench.booking_outbox`); `only="book"`: the
    booking comparison alone."""
    seconds, connections = timing
    base = servers["with"].base_url
    auth = {
        side: [login(server.base_url, i + 1) for i in range(connections)]
        for side, server in servers.items()
    }
    probe = auth["with"][0]
    # Each booking takes its own slot, each reschedule moves one booked appointment, each cancel
    # ends one: gathered before they are measured.
    slots = free_slots(base, probe, booking_outbox.slots_needed(writes, connections))
    if only == "book":
        rows, _booked, comparison = booking_outbox.compare(servers, auth, slots, seconds, db)
        return rows, comparison

    def as_patient(i: int) -> dict[str, str]:
        return auth["with"][i]

    downloads = [_small_download(base, headers) for headers in auth["with"]]
    some_provider = send(
        base, "POST", "/api/appointments/search-providers", {"specialty": SPECIALTIES[0]}, probe
    )["data"][0]["id"]
    day = (date.today() + timedelta(days=3)).isoformat()
    searches = iter(range(10**9))
    before_booking = [
        Endpoint(
            "GET /api/auth/csrf-token", repeat("GET", "/api/auth/csrf-token"), headers=as_patient
        ),
        Endpoint("GET /health", repeat("GET", "/health")),
        Endpoint(
            "POST /api/appointments/search-providers (specialty)",
            lambda _i: (
                "POST",
                "/api/appointments/search-providers",
                {"specialty": SPECIALTIES[next(searches) % len(SPECIALTIES)]},
            ),
            headers=as_patient,
        ),
        Endpoint(
            "GET /api/providers/{id}/available-slots",
            repeat("GET", f"/api/providers/{some_provider}/available-slots?date={day}"),
            headers=as_patient,
        ),
    ]
    after_booking = [
        Endpoint("GET /api/appointments", repeat("GET", "/api/appointments"), headers=as_patient),
        Endpoint(
            "GET /api/medical-records", repeat("GET", "/api/medical-records"), headers=as_patient
        ),
        Endpoint(
            "GET download (small file)", lambda i: ("GET", downloads[i], None), headers=as_patient
        ),
        Endpoint(
            "POST /api/auth/login",
            lambda i: (
                "POST",
                "/api/auth/login",
                {"email": load_patient_email(i + 1), "password": LOAD_PASSWORD},
            ),
        ),
    ]
    measure = _with_statements(servers["with"], seconds, connections)
    runs = [measure(e) for e in before_booking]
    rows, booked, comparison = booking_outbox.compare(servers, auth, slots, seconds, db)
    runs += rows
    _add_change_endpoints(base, runs, booked, auth["with"], measure)
    details = [[f"/api/appointments/{a}" for a in ids] for ids in booked]
    after_booking.insert(
        0,
        Endpoint(
            "GET /api/appointments/{id}",
            lambda i: ("GET", details[i][next(searches) % len(details[i])], None),
            headers=as_patient,
        ),
    )
    runs += [measure(e) for e in after_booking]
    return runs, comparison


def _with_statements(
    server: Server, seconds: float, connections: int
) -> Callable[[Endpoint], dict[str, Any]]:
    """One closed-loop run of an endpoint on `server`, its row with the SQL statements per
    request (the server's /metrics before and after, less what a read of /metrics runs; the
    background work of those seconds, such as audit sealing, counts too)."""
    scrape = scrape_cost(server)

    def measure(endpoint: Endpoint) -> dict[str, Any]:
        before = statement_counts(fetch_metrics(server))
        row = drive(server.base_url, endpoint, seconds, connections, server.pid)
        after = statement_counts(fetch_metrics(server))
        ran = sum(after.values()) - sum(before.values()) - sum(scrape.values())
        row["sql_per_request"] = round(ran / row["requests"], 2) if row["requests"] else None
        return row

    return measure


def _add_change_endpoints(
    base: str,
    runs: list[dict[str, Any]],
    booked: list[list[str]],
    auth: list[dict[str, str]],
    measure: Callable[[Endpoint], dict[str, Any]],
) -> None:
    """Reschedule each booked appointment once (to a later free time of its own provider),
    then cancel each."""
    taken: set[tuple[str, str, str]] = set()
    moves = [_moves_for(base, auth[i], ids, taken) for i, ids in enumerate(booked)]
    cancels: list[list[Request]] = [
        [
            ("DELETE", f"/api/appointments/{a}/cancel", {"reason": "Benchmark: plans changed"})
            for a in ids
        ]
        for ids in booked
    ]
    for endpoint in (
        Endpoint(
            "PUT /api/appointments/{id}/reschedule", from_queues(moves), {200}, auth.__getitem__
        ),
        Endpoint(
            "DELETE /api/appointments/{id}/cancel", from_queues(cancels), {200}, auth.__getitem__
        ),
    ):
        runs.append(measure(endpoint))


def _moves_for(
    base: str, headers: dict[str, str], ids: list[str], used: set[tuple[str, str, str]]
) -> list[Request]:
    """One reschedule per appointment, to a free time of its provider on a later day (none
    in `used`, the targets of the run's other moves)."""
    moves: list[Request] = []
    for appointment_id in ids:
        appointment = send(base, "GET", f"/api/appointments/{appointment_id}", None, headers)
        provider_id = appointment["providerId"]
        day = date.fromisoformat(appointment["date"])
        for extra in range(7, 30):
            new_day = (day + timedelta(days=extra)).isoformat()
            answer = send(
                base,
                "GET",
                f"/api/providers/{provider_id}/available-slots?date={new_day}",
                None,
                headers,
            )
            free = [s for s in answer["slots"] if (provider_id, new_day, s) not in used]
            if free:
                used.add((provider_id, new_day, free[0]))
                body = {"date": new_day, "time": free[0], "reason": "Benchmark"}
                moves.append(("PUT", f"/api/appointments/{appointment_id}/reschedule", body))
                break
    return moves


# --- the floor ----------------------------------------------------------------------------------


@contextmanager
def floor_server(app: str, workers: int) -> Iterator[tuple[str, int]]:
    """`uvicorn bench.floor_apps:<app> --workers N`, as `portal serve` runs ours."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        f"bench.floor_apps:{app}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--no-server-header",
        "--log-level",
        "warning",
    ]
    log = RESULTS / f"bench-floor-{app}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                send(base, "GET", "/hello", None, {})
                break
            except (OSError, SystemExit):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"{app} did not start:\n{log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield base, process.pid
    finally:
        child_server._stop(process)  # the same shutdown as ours


def measure_floor(seconds: float, connections: int, workers: int) -> list[dict[str, Any]]:
    runs = []
    for app, name in (
        ("connexion_app", "connexion FlaskApp hello (the floor)"),
        ("starlette_app", "bare Starlette hello"),
    ):
        with floor_server(app, workers) as (base, pid):
            endpoint = Endpoint(name, repeat("GET", "/hello"))
            drive(base, endpoint, 1, connections, pid)  # warm every worker up
            runs.append(drive(base, endpoint, seconds, connections, pid))
    return runs


# --- the report ----------------------------------------------------------------------------------


def build_report(
    floor_runs: list[dict[str, Any]], runs: list[dict[str, Any]], settings: dict[str, Any]
) -> dict[str, Any]:
    floor_cpu = floor_runs[0]["cpu_ms_per_request"] if floor_runs else None
    for run in [*floor_runs, *runs]:
        cpu = run["cpu_ms_per_request"]
        run["x_floor"] = round(cpu / floor_cpu, 2) if cpu is not None and floor_cpu else None
    return {**settings, "floor": floor_runs, "endpoints": runs}


def to_markdown(report: dict[str, Any]) -> str:
    lines = [
        "| endpoint | CPU ms/request | x floor | event loop ms | SQL/request | requests | req/s "
        "| p50 ms | p95 ms | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    login = [r for r in report["endpoints"] if r["endpoint"] == "POST /api/auth/login"]
    others = [r for r in report["endpoints"] if r["endpoint"] != "POST /api/auth/login"]
    for run in [*report["floor"], *others, *login]:
        label = run["endpoint"] + (" (argon2: apart)" if run in login else "")
        flag = f" UNEXPECTED {run['unexpected']}" if run["unexpected"] else ""
        lines.append(
            f"| {label} | {run['cpu_ms_per_request']} | {run['x_floor']} | "
            f"{run.get('loop_cpu_ms_per_request', '')} | "
            f"{run.get('sql_per_request', '')} | {run['requests']} | "
            f"{run['rps']} | {run['p50_ms']} | {run['p95_ms']} | {run['statuses']}{flag} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8, help="per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--writes", type=int, default=400, help="bookings (and as many moves)")
    parser.add_argument("--results", type=Path, default=RESULTS / "bench.json")
    parser.add_argument(
        "--only", choices=["book"], help="book: only the booking with and without its outbox"
    )
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    floor_runs = [] if args.only else measure_floor(args.seconds, args.connections, args.workers)
    with (
        load_database(patients=args.connections) as db,
        running_server(db, args.workers, "bench-server.log") as server,
        running_server(
            db, args.workers, "bench-server-no-outbox.log", command_module="bench.no_outbox"
        ) as counterfactual,
    ):
        servers = {"with": server, "without": counterfactual}
        for each in servers.values():
            warm = Endpoint("warm-up", repeat("GET", "/health"))
            drive(each.base_url, warm, 2, args.connections, each.pid)
        runs, comparison = run_endpoints(
            servers, db, (args.seconds, args.connections), args.writes, args.only
        )
    report = build_report(
        floor_runs,
        runs,
        {"workers": args.workers, "connections": args.connections, "seconds": args.seconds},
    )
    report["booking_outbox"] = comparison
    report["markdown"] = to_markdown(report)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2) + "\n")
    print(f"workers={args.workers} connections={args.connections} seconds={args.seconds}")
    print(report["markdown"])
    print(booking_outbox.describe(comparison))
    return 1 if any(run["unexpected"] for run in [*floor_runs, *runs]) else 0


if __name__ == "__main__":
    sys.exit(main())
