"""Benchmark of the providers API at clinic-network scale (not a test: it only reports).

Builds (or reuses) a MariaDB database seeded with N providers and M appointments, starts the
real server on it (`portal serve`, production settings, see `bench.harness.running_server`) and
drives each search filter and the slots request over HTTP with one sequential keep-alive client
(http.client), so the figures are the server's and not an in-process test client's. Prints
p50/p95/max latency per case and the SQL statements per request (read from the server's own
`portal_db_query_duration_seconds` counts in /metrics before and after each case), and writes
bench/results/providers.json. Usage (see `make bench-providers`):

    python -m bench.providers [--providers 2000] [--appointments 50000] [--requests 300]
                              [--server mysql+pymysql://root@127.0.0.1:3306] [--keep NAME]
                              [--workers 1] [--port P] [--limiter-storage URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa

from bench.harness import (
    LOAD_PHI_KEYS,
    LOAD_STORAGE_KEY,
    LoadDatabase,
    Server,
    free_port,
    running_server,
    statement_counts,
)

RESULTS = Path(__file__).parent / "results" / "providers.json"
SEARCH = "/api/appointments/search-providers"
TARGET_P95_MS = 50  # issue 4, "Scale": every search filter
WARM_UP_REQUESTS = 10
PORTS = range(3800, 3900)  # apart from the load test's 3700-3799
PATIENT = "patient1@example.com"


def _database(server: str, keep: str | None) -> tuple[str, bool]:
    """URL of the bench database, and whether this run created it (and so drops it)."""
    name = keep or f"portal_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server)
    with admin.connect() as connection:
        exists = connection.exec_driver_sql(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (name,)
        ).scalar()
        if not exists:
            connection.exec_driver_sql(
                f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
    admin.dispose()
    url = sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    return url, keep is None


def _drop(server: str, url: str) -> None:
    admin = sa.create_engine(server)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {sa.engine.make_url(url).database}")
    admin.dispose()


def _prepare(url: str, storage: str, providers: int, appointments: int) -> dict[str, Any]:
    """Migrate and seed (idempotent: a kept database only gets what it lacks); what it holds."""
    from kernel.settings import load_settings
    from portal.ops import migrate
    from portal.ops.demo.seed import clinic_today, seed_with_settings
    from portal.runtime import build_services

    settings = load_settings(
        app_env="development",
        database_url=url,
        storage_path=storage,
        phi_encryption_keys=LOAD_PHI_KEYS,
        storage_encryption_key=LOAD_STORAGE_KEY,
    )
    migrate.upgrade(url)
    current = build_services(settings)
    started = time.perf_counter()
    report = seed_with_settings(current, providers=providers, appointments=appointments)
    print(f"seed ({time.perf_counter() - started:.0f} s): {report}")
    with current.db.new_session() as session:
        facts = {
            "providers": session.scalar(sa.text("SELECT COUNT(*) FROM provider_profiles")),
            "appointments": session.scalar(sa.text("SELECT COUNT(*) FROM appointments")),
            "slots_provider": session.scalar(
                sa.text("SELECT user_id FROM provider_profiles ORDER BY npi LIMIT 1")
            ),
            "today": clinic_today(settings.clinic_zone),
            "demo_password": settings.demo_password,
        }
    current.db.dispose()
    return facts


class Client:
    """One keep-alive HTTP/1.1 connection, requests sent one after another."""

    def __init__(self, server: Server) -> None:
        parts = urlsplit(server.base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.metrics_token = server.metrics_token
        self.headers: dict[str, str] = {}

    def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> Any:
        sent = {**self.headers, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        self.connection.request(method, path, data, sent)
        response = self.connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise SystemExit(f"{method} {path} answered {response.status}: {payload[:500]!r}")
        return payload

    def log_in(self, email: str, password: str) -> None:
        session = json.loads(
            self.send("POST", "/api/auth/login", {"email": email, "password": password})
        )
        self.headers = {
            "Authorization": f"Bearer {session['accessToken']}",
            "X-CSRF-Token": session["csrfToken"],
        }

    def statements_so_far(self) -> float:
        """SQL statements the server has run since it started (all kinds, all databases)."""
        text = self.send(
            "GET", "/metrics", headers={"Authorization": f"Bearer {self.metrics_token}"}
        )
        return sum(statement_counts(text.decode()).values())


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def measure(client: Client, method: str, path: str, body: Any, requests: int) -> dict[str, Any]:
    for _ in range(WARM_UP_REQUESTS):
        client.send(method, path, body)
    statements_before = client.statements_so_far()
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        client.send(method, path, body)
        timings.append((time.perf_counter() - started) * 1000)
    statements = client.statements_so_far() - statements_before
    timings.sort()
    return {
        "p50_ms": round(percentile(timings, 0.50), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "max_ms": round(timings[-1], 1),
        "statements_per_request": round(statements / requests, 2),
    }


def searches(today: date) -> dict[str, dict[str, Any]]:
    soon = today + timedelta(days=(7 - today.weekday()) % 7 or 7)  # next Monday
    return {
        "no filter": {},
        "specialty": {"specialty": "family_medicine"},
        "location (city)": {"location": "Boston"},
        "location (street)": {"location": "Cambridge St"},
        "insuranceAccepted": {"insuranceAccepted": "Aetna"},
        "date (today)": {"date": today.isoformat()},
        "date (next Monday)": {"date": soon.isoformat()},
        "all four": {
            "specialty": "family_medicine",
            "location": "MA",
            "insuranceAccepted": "aetna",
            "date": soon.isoformat(),
        },
    }


def drive(server: Server, facts: dict[str, Any], requests: int) -> dict[str, Any]:
    client = Client(server)
    client.log_in(PATIENT, facts["demo_password"])
    cases: dict[str, Any] = {}
    # The floor of every authenticated request: token check, routing, validation, JSON; no
    # database (GET /api/auth/me would add an audited read: a committed write per request).
    cases["baseline: GET /api/auth/csrf-token"] = measure(
        client, "GET", "/api/auth/csrf-token", None, requests
    )
    for name, body in searches(facts["today"]).items():
        total = json.loads(client.send("POST", SEARCH, body))["total"]
        cases[f"search: {name}"] = measure(client, "POST", SEARCH, body, requests) | {
            "matches": total
        }
    monday = searches(facts["today"])["date (next Monday)"]["date"]
    slots = f"/api/providers/{facts['slots_provider']}/available-slots?" + urlencode(
        {"date": monday}
    )
    cases["available-slots"] = measure(client, "GET", slots, None, requests)
    client.connection.close()
    return cases


def run(args: argparse.Namespace) -> dict[str, Any]:
    url, created = _database(args.server, args.keep)
    try:
        with tempfile.TemporaryDirectory() as storage:
            facts = _prepare(url, storage, args.providers, args.appointments)
            load_before = os.getloadavg()
            database = LoadDatabase(url, Path(storage), patients=0)
            with running_server(
                database,
                args.workers,
                "providers-server.log",
                port=args.port or free_port(PORTS),
                overrides={"RATE_LIMIT_STORAGE_URL": args.limiter_storage},
            ) as server:
                cases = drive(server, facts, args.requests)
    finally:
        if created:
            _drop(args.server, url)
    return {
        "database": {"providers": facts["providers"], "appointments": facts["appointments"]},
        "server": {"workers": args.workers, "client": "one sequential keep-alive connection"},
        "requests_per_case": args.requests,
        "warm_up_requests_per_case": WARM_UP_REQUESTS,
        "target_p95_ms": TARGET_P95_MS,
        # latency on a shared machine means little without how busy it was
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "cases": cases,
    }


def print_report(results: dict[str, Any]) -> None:
    print(
        f"database: {results['database']}; {results['cpus']} CPUs, load average "
        f"{results['load_average_before'][0]:.1f} before, "
        f"{results['load_average_after'][0]:.1f} after; "
        f"{results['requests_per_case']} requests per case"
    )
    print(f"{'case':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL/req':>8} {'matches':>8}")
    for name, row in results["cases"].items():
        print(
            f"{name:34} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['max_ms']:8.1f} "
            f"{row['statements_per_request']:8.2f} {row.get('matches', ''):>8}"
        )
    slow = [
        name
        for name, row in results["cases"].items()
        if name.startswith("search:") and row["p95_ms"] >= TARGET_P95_MS
    ]
    print(f"search p95 < {TARGET_P95_MS} ms: {'not met by ' + ', '.join(slow) if slow else 'met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=2000)
    parser.add_argument("--appointments", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--server", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument("--keep", help="reuse (or create and keep) this database name")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, help="server port (default: free one in 3800-3899)")
    parser.add_argument(
        "--limiter-storage",
        default=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="RATE_LIMIT_STORAGE_URL of the server (memory:// needs no Redis)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()
    results = run(args)
    print_report(results)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.results}")


if __name__ == "__main__":
    main()
