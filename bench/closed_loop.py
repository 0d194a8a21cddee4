"""The closed-loop client of `make bench`: C keep-alive connections each sending its next
request when the last one is answered, and the CPU time of the server's process tree (the
master and its workers, `/proc/<pid>/stat`) over the run."""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.harness import LOAD_PASSWORD, load_patient_email

SPECIALTIES = ["family_medicine", "internal_medicine", "cardiology", "pediatrics", "dermatology"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# One request: method, path, JSON body or None.
Request = tuple[str, str, Any]


# --- CPU of a process tree ------------------------------------------------------------------


def _stat_fields(pid: int, thread: int | None = None) -> list[str] | None:
    """Fields 3 on of the process's `stat` (of one of its threads' with `thread`)."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        text = Path(path).read_text()
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


def cpu_split(root: int) -> tuple[float, float]:
    """User + system time of `root`'s tree so far (reaped children included: cutime/cstime),
    and of that the part of each process's main thread: where uvicorn runs a worker's event
    loop (connexion's ASGI middleware); the rest is the other threads (Flask's request threads,
    the background threads)."""
    ticks = main = 0
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields is not None:  # utime, stime, cutime, cstime are fields 14-17
            ticks += sum(int(value) for value in fields[11:15])
            main_thread = _stat_fields(pid, thread=pid)  # its id is the process's
            if main_thread is not None:
                main += int(main_thread[11]) + int(main_thread[12])
    return ticks / CLOCK_TICKS, main / CLOCK_TICKS


def cpu_seconds(root: int) -> float:
    """User + system time of `root`'s tree so far, reaped children included (cutime/cstime)."""
    return cpu_split(root)[0]


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


@dataclass
class Sample:
    """What one closed-loop run of an endpoint saw: latencies, statuses, its span and the
    server's CPU seconds in it."""

    latencies: list[float]
    statuses: dict[int, int]
    elapsed: float
    cpu: float
    loop_cpu: float = 0.0  # of `cpu`, the processes' main threads (`cpu_split`)


def sample(
    base: str, endpoint: Endpoint, seconds: float, connections: int, server_pid: int
) -> Sample:
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
    cpu_before, loop_before = cpu_split(server_pid)
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu_after, loop_after = cpu_split(server_pid)
    return Sample(latencies, statuses, elapsed, cpu_after - cpu_before, loop_after - loop_before)


def summarize(endpoint: Endpoint, samples: list[Sample]) -> dict[str, Any]:
    """One row of the report from one or several runs of the endpoint."""
    latencies = [latency for one in samples for latency in one.latencies]
    statuses: dict[int, int] = {}
    for one in samples:
        for status, count in one.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    elapsed = sum(one.elapsed for one in samples)
    cpu = sum(one.cpu for one in samples)
    # a thread's ticks and its process's are read one after the other, so where nearly all the
    # CPU is the main thread's (the bare Starlette floor) its figure can pass the total by a tick
    loop_cpu = min(sum(one.loop_cpu for one in samples), cpu)
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
        "loop_cpu_ms_per_request": round(loop_cpu * 1000 / count, 2) if count else None,
    }


def drive(
    base: str, endpoint: Endpoint, seconds: float, connections: int, server_pid: int
) -> dict[str, Any]:
    """The endpoint's row: one closed-loop run of `seconds`."""
    return summarize(endpoint, [sample(base, endpoint, seconds, connections, server_pid)])


def send(base: str, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
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
    answer = send(base, "POST", "/api/auth/login", body, {})
    return {"Authorization": f"Bearer {answer['accessToken']}", "X-CSRF-Token": answer["csrfToken"]}


# --- requests to send ---------------------------------------------------------------------


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
        found = send(
            base, "POST", "/api/appointments/search-providers", {"specialty": specialty}, headers
        )
        for provider in found["data"]:
            if provider.get("acceptingNewPatients", True):
                providers[provider["id"]] = None
    slots: list[tuple[str, str, str]] = []
    for offset in range(2, 60):
        day = (date.today() + timedelta(days=offset)).isoformat()
        for provider_id in providers:
            answer = send(
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


def spread(items: list[Any], connections: int) -> list[list[Any]]:
    return [items[i::connections] for i in range(connections)]
