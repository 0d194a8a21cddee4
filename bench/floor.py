"""`make bench`: server CPU per request of every endpoint, beside the framework floor.

Starts the server (`portal serve --workers N`, production settings, MariaDB with the demo data,
Redis for the limiter), then drives one endpoint after another with the same closed-loop client
(C keep-alive connections, one simulated patient each). For each endpoint it reads the user +
system time of every server process (the master and its workers, `/proc/<pid>/stat`) before and
after, and divides by the requests served: CPU ms per request, a figure that does not move with
the machine's load the way latency does. Then it serves the same way the two one-operation apps
of `bench.floor_apps` (a connexion FlaskApp: the framework floor; bare Starlette) and measures
them with the same client, so every endpoint gets its ratio to the floor of the same run.

Login (argon2, deliberately slow) is reported apart. Writes (book, reschedule, cancel) each use
their own free slot or appointment, gathered before they are measured. Prints the table and
writes bench/results/bench.json; an endpoint answering anything unexpected says so.

    python -m bench.floor [--seconds 8] [--connections 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.harness import (
    LOAD_PASSWORD,
    RESULTS,
    ROOT,
    free_port,
    load_database,
    load_patient_email,
    running_server,
)
from tests.support import child_server

SPECIALTIES = ["family_medicine", "internal_medicine", "cardiology", "pediatrics", "dermatology"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# One request: method, path, JSON body or None.
Request = tuple[str, str, Any]


# --- CPU of a process tree ------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd on (the name may hold ' ')


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(root: int) -> float:
    """User + system time of `root`'s tree so far, reaped children included (cutime/cstime)."""
    ticks = 0
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields is not None:  # utime, stime, cutime, cstime are fields 14-17
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


# --- the closed-loop client -----------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    # the next request of connection i, or None when it has nothing left to send
    next_request: Callable[[int], Request | None]
    expected: set[int] = field(default_factory=lambda: {200})
    headers: Callable[[int], dict[str, str]] = lambda _i: {}
    # called with (connection, status, body) of every answer
    on_answer: Callable[[int, int, bytes], None] | None = None


def drive(
    base: str, endpoint: Endpoint, seconds: float, connections: int, server_pid: int
) -> dict[str, Any]:
    """Closed loop: each connection sends its next request when the last one is answered."""
    parts = urlsplit(base)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        headers = endpoint.headers(index)
        mine: list[float] = []
        seen: dict[int, int] = {}
        while time.monotonic() < stop_at:
            request = endpoint.next_request(index)
            if request is None:
                break
            method, path, body = request
            sent_headers = dict(headers)
            payload = None
            if body is not None:
                payload = json.dumps(body)
                sent_headers["Content-Type"] = "application/json"
            started = time.perf_counter()
            connection.request(method, path, payload, sent_headers)
            response = connection.getresponse()
            answer = response.read()
            mine.append(time.perf_counter() - started)
            if endpoint.on_answer is not None:
                endpoint.on_answer(index, response.status, answer)
            seen[response.status] = seen.get(response.status, 0) + 1
        connection.close()
        with lock:
            latencies.extend(mine)
            for status, count in seen.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    cpu_before = cpu_seconds(server_pid)
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(server_pid) - cpu_before
    count = len(latencies)
    cuts = statistics.quantiles(latencies, n=100) if count > 1 else [0.0] * 99
    unexpected = {str(s): n for s, n in statuses.items() if s not in endpoint.expected}
    return {
        "endpoint": endpoint.name,
        "requests": count,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "unexpected": unexpected,
        "rps": round(count / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(cuts[49] * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "cpu_ms_per_request": round(cpu * 1000 / count, 2) if count else None,
    }


def _send(base: str, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    sent = dict(headers)
    if body is not None:
        sent["Content-Type"] = "application/json"
    connection.request(method, path, json.dumps(body) if body is not None else None, sent)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {payload[:500]!r}")
    return json.loads(payload) if payload else None


def login(base: str, number: int) -> dict[str, str]:
    body = {"email": load_patient_email(number), "password": LOAD_PASSWORD}
    answer = _send(base, "POST", "/api/auth/login", body, {})
    return {"Authorization": f"Bearer {answer['accessToken']}", "X-CSRF-Token": answer["csrfToken"]}


# --- the endpoints ----------------------------------------------------------------------------


def repeat(method: str, path: str, body: Any = None) -> Callable[[int], Request]:
    return lambda _i: (method, path, body)


def from_queues(queues: list[list[Request]]) -> Callable[[int], Request | None]:
    """Connection i takes its requests from queues[i] (each used once), then stops."""
    return lambda i: queues[i].pop() if queues[i] else None


def free_slots(base: str, headers: dict[str, str], wanted: int) -> list[tuple[str, str, str]]:
    """(providerId, date, time) of `wanted` free slots of providers accepting new patients, from
    the day after tomorrow on (far enough ahead to be rescheduled and cancelled)."""
    providers: dict[str, None] = {}
    for specialty in SPECIALTIES:
        found = _send(
            base, "POST", "/api/appointments/search-providers", {"specialty": specialty}, headers
        )
        for provider in found["data"]:
            if provider.get("acceptingNewPatients", True):
                providers[provider["id"]] = None
    slots: list[tuple[str, str, str]] = []
    for offset in range(2, 60):
        day = (date.today() + timedelta(days=offset)).isoformat()
        for provider_id in providers:
            answer = _send(
                base,
                "GET",
                f"/api/providers/{provider_id}/available-slots?date={day}",
                None,
                headers,
            )
            slots.extend((provider_id, day, start) for start in answer["slots"])
            if len(slots) >= wanted:
                return slots[:wanted]
    return slots


def _small_download(base: str, headers: dict[str, str]) -> str:
    """The download URL of one of the patient's small attachments."""
    records = _send(base, "GET", "/api/medical-records", None, headers)["data"]
    return next(
        attachment["url"]
        for record in records
        for attachment in record.get("attachments", [])
        if attachment["fileSize"] < 1024 * 1024
    )


def spread(items: list[Any], connections: int) -> list[list[Any]]:
    return [items[i::connections] for i in range(connections)]


def run_endpoints(
    base: str, server_pid: int, seconds: float, connections: int, writes: int
) -> list[dict[str, Any]]:
    auth = [login(base, i + 1) for i in range(connections)]

    def as_patient(i: int) -> dict[str, str]:
        return auth[i]

    probe = auth[0]
    downloads = [_small_download(base, headers) for headers in auth]
    some_provider = _send(
        base, "POST", "/api/appointments/search-providers", {"specialty": SPECIALTIES[0]}, probe
    )["data"][0]["id"]
    day = (date.today() + timedelta(days=3)).isoformat()
    searches = iter(range(10**9))

    # Each booking takes its own slot, each reschedule moves one booked appointment, each cancel
    # ends one: gathered before they are measured.
    book_queues = spread(free_slots(base, probe, writes), connections)
    booked: list[list[str]] = [[] for _ in range(connections)]

    def book(i: int) -> Request | None:
        if not book_queues[i]:
            return None
        provider_id, slot_day, start = book_queues[i].pop()
        body = {
            "providerId": provider_id,
            "date": slot_day,
            "time": start,
            "type": "routine_checkup",
            "reason": "Benchmark: annual checkup visit",
        }
        return ("POST", "/api/appointments", body)

    endpoints = [
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
        Endpoint(
            "POST /api/appointments (book)",
            book,
            {201},
            as_patient,
            lambda i, status, body: (
                booked[i].append(json.loads(body)["id"]) if status == 201 else None
            ),
        ),
        Endpoint("GET /api/appointments", repeat("GET", "/api/appointments"), headers=as_patient),
        Endpoint(
            "GET /api/medical-records", repeat("GET", "/api/medical-records"), headers=as_patient
        ),
        Endpoint(
            "GET download (small file)", lambda i: ("GET", downloads[i], None), headers=as_patient
        ),
    ]
    runs = []
    for endpoint in endpoints:
        runs.append(drive(base, endpoint, seconds, connections, server_pid))
        if endpoint.name == "POST /api/appointments (book)":
            _add_change_endpoints(base, runs, booked, auth, (seconds, connections, server_pid))
    runs.append(
        drive(
            base,
            Endpoint(
                "POST /api/auth/login",
                lambda i: (
                    "POST",
                    "/api/auth/login",
                    {"email": load_patient_email(i + 1), "password": LOAD_PASSWORD},
                ),
            ),
            seconds,
            connections,
            server_pid,
        )
    )
    return runs


def _add_change_endpoints(
    base: str,
    runs: list[dict[str, Any]],
    booked: list[list[str]],
    auth: list[dict[str, str]],
    timing: tuple[float, int, int],
) -> None:
    """Reschedule each booked appointment once (to a later free time of its own provider),
    then cancel each."""
    seconds, connections, server_pid = timing
    taken: set[tuple[str, str, str]] = set()
    moves = [_moves_for(base, auth[i], booked[i], taken) for i in range(connections)]
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
        runs.append(drive(base, endpoint, seconds, connections, server_pid))


def _moves_for(
    base: str, headers: dict[str, str], ids: list[str], used: set[tuple[str, str, str]]
) -> list[Request]:
    """One reschedule per appointment, to a free time of its provider on a later day (none
    in `used`, the targets of the run's other moves)."""
    moves: list[Request] = []
    for appointment_id in ids:
        appointment = _send(base, "GET", f"/api/appointments/{appointment_id}", None, headers)
        provider_id = appointment["providerId"]
        day = date.fromisoformat(appointment["date"])
        for extra in range(7, 30):
            new_day = (day + timedelta(days=extra)).isoformat()
            answer = _send(
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
                _send(base, "GET", "/hello", None, {})
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
    floor_cpu = floor_runs[0]["cpu_ms_per_request"] or 1.0
    for run in [*floor_runs, *runs]:
        cpu = run["cpu_ms_per_request"]
        run["x_floor"] = round(cpu / floor_cpu, 2) if cpu is not None else None
    return {**settings, "floor": floor_runs, "endpoints": runs}


def to_markdown(report: dict[str, Any]) -> str:
    lines = [
        "| endpoint | CPU ms/request | x floor | requests | req/s | p50 ms | p95 ms | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    login = [r for r in report["endpoints"] if r["endpoint"] == "POST /api/auth/login"]
    others = [r for r in report["endpoints"] if r["endpoint"] != "POST /api/auth/login"]
    for run in [*report["floor"], *others, *login]:
        label = run["endpoint"] + (" (argon2: apart)" if run in login else "")
        flag = f" UNEXPECTED {run['unexpected']}" if run["unexpected"] else ""
        lines.append(
            f"| {label} | {run['cpu_ms_per_request']} | {run['x_floor']} | {run['requests']} | "
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
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    floor_runs = measure_floor(args.seconds, args.connections, args.workers)
    with (
        load_database(patients=args.connections) as db,
        running_server(db, args.workers, "bench-server.log") as server,
    ):
        warm = Endpoint("warm-up", repeat("GET", "/health"))
        drive(server.base_url, warm, 2, args.connections, server.pid)
        runs = run_endpoints(
            server.base_url, server.pid, args.seconds, args.connections, args.writes
        )
    report = build_report(
        floor_runs,
        runs,
        {"workers": args.workers, "connections": args.connections, "seconds": args.seconds},
    )
    report["markdown"] = to_markdown(report)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2) + "\n")
    print(f"workers={args.workers} connections={args.connections} seconds={args.seconds}")
    print(report["markdown"])
    return 1 if any(run["unexpected"] for run in [*floor_runs, *runs]) else 0


if __name__ == "__main__":
    sys.exit(main())
