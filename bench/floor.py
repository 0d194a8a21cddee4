"""`make bench`: the framework floor next to the real list endpoint, in the same run.

Starts the server (`portal serve --workers N`, production settings, MariaDB with the demo data),
then drives, one after another, with the same closed-loop client (C keep-alive connections):

- GET /api/auth/csrf-token: authenticated and spec-validated, no database: the cost of
  uvicorn + connexion + Flask + our middleware, i.e. the floor of every endpoint;
- GET /health: the floor plus one `SELECT 1`;
- GET /api/appointments: the real list (search, join, pagination, serialisation).

Prints requests/s, p50/p95/p99 and each endpoint's rate as a ratio of the floor, and writes
bench/results/bench.json. An endpoint that answers anything but 200 is reported as such.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from bench.harness import LOAD_PASSWORD, RESULTS, load_database, load_patient_email, running_server


def login(base: str) -> dict[str, str]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    body = json.dumps({"email": load_patient_email(1), "password": LOAD_PASSWORD})
    connection.request("POST", "/api/auth/login", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    if response.status != 200:
        raise SystemExit(f"login failed: {response.status} {payload}")
    return {"Authorization": f"Bearer {payload['accessToken']}"}


def drive(
    base: str, path: str, headers: dict[str, str], seconds: float, connections: int
) -> dict[str, Any]:
    """Closed loop: each connection sends its next request when the last one is answered."""
    parts = urlsplit(base)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine: list[float] = []
        seen: dict[int, int] = {}
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            seen[response.status] = seen.get(response.status, 0) + 1
        connection.close()
        with lock:
            latencies.extend(mine)
            for status, count in seen.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=client) for _ in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "path": path,
        "requests": len(latencies),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(cuts[49] * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with (
        load_database(patients=5) as db,
        running_server(db, args.workers, "bench-server.log") as server,
    ):
        headers = login(server.base_url)
        drive(server.base_url, "/health", {}, 2, args.connections)  # warm every worker up
        runs = [
            drive(server.base_url, path, headers, args.seconds, args.connections)
            for path in ("/api/auth/csrf-token", "/health", "/api/appointments")
        ]
    floor = runs[0]["rps"] or 1.0
    for run in runs:
        run["ratioToFloor"] = round(run["rps"] / floor, 3)
    report = {"workers": args.workers, "connections": args.connections, "runs": runs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"workers={args.workers} connections={args.connections} seconds={args.seconds}")
    print("| endpoint | statuses | req/s | p50 ms | p95 ms | p99 ms | share of floor |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for run in runs:
        print(
            f"| GET {run['path']} | {run['statuses']} | {run['rps']} | {run['p50_ms']} | "
            f"{run['p95_ms']} | {run['p99_ms']} | {run['ratioToFloor']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
