"""`make load`: simulated patients against the real topology (2 workers, MariaDB), then
integrity checks.

    python -m bench.load [--users 100] [--duration 60] [--workers 2]

Writes bench/results/latest.json and latest.md (a table per endpoint: requests, failures by
status, p50/p95/p99 in ms, requests/s) and exits non-zero on any 5xx, any double booking, or a
successful booking missing from the database. Latency targets are reported; LOAD_ENFORCE_TARGETS=1
makes a miss fail the run too (off by default: both cores are shared with the load generator).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.harness import RESULTS, ROOT, fetch_metrics, load_database, running_server

P95_TARGET_MS = 200
P95_SEARCH_TARGET_MS = 500
P95_AIM_MS = 50
DOWNLOAD_TARGET_MS = 2000
FLOW_ORDER = {
    name: index
    for index, name in enumerate(
        [
            "login", "search providers", "available slots", "book", "list appointments",
            "reschedule", "cancel", "list records", "download", "download 10 MB",
        ]
    )
}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    # Logins (argon2, deliberately slow) are spread over the first seconds, as real ones would be.
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument(
        "--arrival",
        choices=("spread", "batch"),
        default="spread",
        help="spread: each patient logs in at a random moment of its spawn second; batch: "
        "locust's own start, spawn-rate patients logging in at the same instant",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--think",
        default="0.5,2",
        help='seconds a patient pauses between two pages, "min,max"; "0,0" is a stress test',
    )
    args = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    prefix = RESULTS / "locust"
    outcomes_file = RESULTS / "outcomes.json"
    outcomes_file.unlink(missing_ok=True)
    with load_database(args.users) as db, running_server(db, args.workers, "server.log") as server:
        print(f"load: {args.users} patients for {args.duration}s against {server.base_url}")
        locust = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{args.duration}s",
                "--host",
                server.base_url,
                "--json-file",
                str(prefix) + "_final",
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "LOAD_OUTCOMES_FILE": str(outcomes_file),
                "LOAD_THINK_SECONDS": args.think,
                "LOAD_ARRIVAL_SPREAD_SECONDS": str(arrival_spread(args)),
                "PYTHONPATH": str(ROOT),
            },
            check=False,
        )
        server_metrics = fetch_metrics(server)
        outcomes = json.loads(outcomes_file.read_text()) if outcomes_file.exists() else {}
        checks = check_database(db.url, outcomes.get("bookings", {}))
    endpoints = read_locust(prefix, outcomes.get("failures", {}), args.duration)
    report = build_report(args, endpoints, checks, server_metrics, locust.returncode)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = to_markdown(report)
    (RESULTS / "latest.md").write_text(markdown)
    print(markdown)
    return 0 if report["passed"] else 1


def arrival_spread(args: argparse.Namespace) -> float:
    """Seconds over which the patients locust starts together spread their logins: locust
    starts floor(spawn rate) users at once, once per interval."""
    if args.arrival == "batch":
        return 0.0
    return max(1, int(args.spawn_rate)) / args.spawn_rate


def read_locust(
    prefix: Path, failures: dict[str, dict[str, int]], seconds: float
) -> list[dict[str, Any]]:
    """Per-endpoint statistics from locust's final JSON; failures by status from the
    locustfile's own count."""
    # The final JSON has every request (the CSV stats can miss those answered while stopping).
    entries = json.loads(Path(f"{prefix}_final.json").read_text())
    endpoints = []
    for entry in entries:
        endpoints.append(
            {
                "name": entry["name"],
                "method": entry["method"],
                "requests": entry["num_requests"],
                "failures": failures.get(entry["name"], {}),
                "p50_ms": percentile(entry["response_times"], 0.50),
                "p95_ms": percentile(entry["response_times"], 0.95),
                "p99_ms": percentile(entry["response_times"], 0.99),
                "rps": round(entry["num_requests"] / seconds, 1),  # over the whole run
            }
        )
    return sorted(endpoints, key=lambda e: FLOW_ORDER.get(e["name"], len(FLOW_ORDER)))


def percentile(response_times: dict[str, int], fraction: float) -> float | None:
    """The response time (ms) below which `fraction` of requests fall, from locust's
    {rounded ms: count} histogram."""
    counts = sorted((float(ms), n) for ms, n in response_times.items())
    total = sum(n for _, n in counts)
    if not total:
        return None
    seen = 0
    for ms, n in counts:
        seen += n
        if seen >= fraction * total:
            return ms
    return counts[-1][0]


def check_database(url: str, bookings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """No two active appointments of a provider overlap; every confirmed booking is stored as
    the server last confirmed it (moved, cancelled or still booked)."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, provider_id, date, start_time, duration, status FROM appointments")
        ).all()
    engine.dispose()
    by_id = {row.id: row for row in rows}
    active: dict[tuple[str, Any], list[tuple[int, int, str]]] = {}
    for row in rows:
        if row.status != "cancelled":
            start = _minutes(row.start_time)
            active.setdefault((row.provider_id, row.date), []).append(
                (start, start + row.duration, row.id)
            )
    double_booked = []
    for (provider, day), spans in active.items():
        spans.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            if start < end:
                double_booked.append(
                    {"provider": provider, "date": str(day), "ids": [first, second]}
                )
    missing, mismatched = [], []
    for appointment_id, booked in bookings.items():
        row = by_id.get(appointment_id)
        if row is None:
            missing.append(appointment_id)
        elif (row.status == "cancelled") != booked["cancelled"] or str(row.date) != booked["date"]:
            mismatched.append(appointment_id)
    return {
        "appointmentsInDatabase": len(rows),
        "successfulBookings": len(bookings),
        "cancelledByTheTest": sum(1 for b in bookings.values() if b["cancelled"]),
        "doubleBookings": double_booked,
        "bookingsMissingFromDatabase": missing,
        "bookingsNotAsConfirmed": mismatched,
    }


def _minutes(value: Any) -> int:
    if isinstance(value, time):
        return value.hour * 60 + value.minute
    seconds = int(value.total_seconds())  # pymysql returns TIME columns as timedelta
    return seconds // 60


def build_report(
    args: argparse.Namespace,
    endpoints: list[dict[str, Any]],
    checks: dict[str, Any],
    server_metrics: str,
    locust_exit: int,
) -> dict[str, Any]:
    server_errors = {
        e["name"]: {s: n for s, n in e["failures"].items() if s.startswith("5")}
        for e in endpoints
        if any(s.startswith("5") for s in e["failures"])
    }
    misses = []
    for e in endpoints:
        target = _target_ms(e["name"])
        if e["p95_ms"] is not None and e["p95_ms"] > target:
            misses.append(f"{e['name']}: p95 {e['p95_ms']:.0f} ms > {target} ms")
    problems = []
    if server_errors:
        problems.append(f"5xx answers: {server_errors}")
    if checks["doubleBookings"]:
        problems.append(f"{len(checks['doubleBookings'])} double bookings")
    if checks["bookingsMissingFromDatabase"] or checks["bookingsNotAsConfirmed"]:
        problems.append("bookings missing from the database or not as confirmed")
    if checks["successfulBookings"] == 0:
        problems.append("no booking succeeded: the flow never got as far as booking")
    if os.environ.get("LOAD_ENFORCE_TARGETS") == "1":
        problems.extend(misses)
    booking_outcomes = dict(
        re.findall(
            r'^portal_booking_outcomes_total\{outcome="(\w+)"\} (\S+)$', server_metrics, re.M
        )
    )
    return {
        "finishedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            "users": args.users,
            "durationSeconds": args.duration,
            "workers": args.workers,
            "thinkSeconds": args.think,
            "arrival": args.arrival,
            "database": "MariaDB",
            "cpus": os.cpu_count(),
            "note": "load generator and server share the machine's cores",
        },
        "endpoints": endpoints,
        "checks": checks,
        "bookingOutcomesFromMetrics": {k: float(v) for k, v in booking_outcomes.items()},
        "latencyTargetMisses": misses,
        "locustExitCode": locust_exit,
        "problems": problems,
        "passed": not problems,
    }


def _target_ms(name: str) -> int:
    if name == "search providers":
        return P95_SEARCH_TARGET_MS
    if name == "download 10 MB":
        return DOWNLOAD_TARGET_MS
    return P95_TARGET_MS


def to_markdown(report: dict[str, Any]) -> str:
    config = report["config"]
    lines = [
        f"## Load test: {config['users']} patients, {config['durationSeconds']} s, "
        f"{config['workers']} workers, {config['database']}, think time "
        f"{config['thinkSeconds'].replace(',', '-')} s, {config.get('arrival', 'spread')} "
        f"arrival ({report['finishedAt']})",
        "",
        "| endpoint | requests | failures (by status) | p50 ms | p95 ms | p99 ms | req/s |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for e in report["endpoints"]:
        failures = ", ".join(f"{s}: {n}" for s, n in sorted(e["failures"].items())) or "0"
        lines.append(
            f"| {e['method']} {e['name']} | {e['requests']} | {failures} | "
            f"{_ms(e['p50_ms'])} | {_ms(e['p95_ms'])} | {_ms(e['p99_ms'])} | {e['rps']} |"
        )
    checks = report["checks"]
    lines += [
        "",
        f"- successful bookings: {checks['successfulBookings']} "
        f"(cancelled again by the flow: {checks['cancelledByTheTest']}); "
        f"booking outcomes from /metrics: {report['bookingOutcomesFromMetrics'] or 'none'}",
        f"- double bookings: {len(checks['doubleBookings'])}; bookings missing from the "
        f"database: {len(checks['bookingsMissingFromDatabase'])}; not as confirmed: "
        f"{len(checks['bookingsNotAsConfirmed'])}",
        f"- p95 targets (200 ms, search 500 ms, 10 MB download 2 s) missed: "
        f"{'; '.join(report['latencyTargetMisses']) or 'none'}",
        f"- result: {'PASS' if report['passed'] else 'FAIL: ' + '; '.join(report['problems'])}",
        "",
    ]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


if __name__ == "__main__":
    sys.exit(main())
