"""Benchmark of the providers API at clinic-network scale (not a test: it only reports).

Builds (or reuses) a MariaDB database seeded with N providers and M appointments, then sends
each search filter and the slots request through the whole app in process (connexion's
validation, the handler, SQL, JSON) and prints p50/p95/max latency and SQL statements per
request. Usage (see `make bench-providers`):

    python -m bench.providers [--providers 2000] [--appointments 50000] [--requests 300]
                              [--server mysql+pymysql://root@127.0.0.1:3306] [--keep NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from handlers.providers import filters_from
from models import User, provider_search
from portal import migrate
from portal.app import build_services, create_app
from portal.runtime import Services
from portal.seed import clinic_today, seed
from portal.settings import load_settings

RESULTS = Path(__file__).parent / "results" / "providers.json"
SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"


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


def _headers(current: Services) -> dict[str, str]:
    with current.db.new_session() as session:
        user = session.scalar(sa.select(User).where(User.email == "patient1@example.com"))
        assert user is not None
    session_id = str(uuid.uuid4())
    token = current.tokens.issue_access_token(
        user_id=user.id,
        email=user.email,
        role=user.role,
        session_id=session_id,
        now=datetime.now(UTC),
    )
    return {
        "Authorization": f"Bearer {token}",
        "X-CSRF-Token": current.tokens.csrf_token(session_id),
    }


def _measure(call: Callable[[], Any], engine: sa.Engine, requests: int) -> dict[str, float]:
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    for _ in range(10):  # warm the pool, the caches and the JIT-less interpreter paths
        call()
    sa.event.listen(engine, "before_cursor_execute", count)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    sa.event.remove(engine, "before_cursor_execute", count)
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
        "max_ms": round(timings[-1], 1),
        "statements_per_request": statements / requests,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    url, created = _database(args.server, args.keep)
    try:
        with tempfile.TemporaryDirectory() as storage:
            settings = load_settings(
                app_env="test",
                database_url=url,
                jwt_secret=SECRET,
                storage_path=storage,
                storage_encryption_key=os.urandom(32).hex(),
                rate_limit_enabled=False,
                validate_responses=False,  # as in production
            )
            migrate.upgrade(url)
            current = build_services(settings)
            today = clinic_today(settings.clinic_zone)
            started = time.perf_counter()
            report = current.db.run(
                lambda session: seed(
                    session,
                    current.storage,
                    demo_password=settings.demo_password,
                    today=today,
                    providers=args.providers,
                    appointments=args.appointments,
                ),
                attempts=1,
            )
            print(f"seed ({time.perf_counter() - started:.0f} s): {report}")
            return _run_requests(current, settings, today, args.requests)
    finally:
        if created:
            _drop(args.server, url)


def _run_requests(current: Services, settings: Any, today: Any, requests: int) -> dict[str, Any]:
    client = create_app(settings, current).test_client()
    headers = _headers(current)
    with current.db.new_session() as session:
        counts = {
            "providers": session.scalar(sa.text("SELECT COUNT(*) FROM provider_profiles")),
            "appointments": session.scalar(sa.text("SELECT COUNT(*) FROM appointments")),
        }
        provider = session.scalar(sa.text("SELECT user_id FROM provider_profiles ORDER BY npi"))
    soon = today + timedelta(days=(7 - today.weekday()) % 7 or 7)  # next Monday
    searches = {
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
    results: dict[str, Any] = {
        "database": counts,
        "requests_per_case": requests,
        # latency on a shared machine means little without how busy it was
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "cases": {},
    }

    def me() -> Any:  # the floor: auth, routing and JSON with one primary-key lookup
        response = client.get("/api/auth/me", headers=headers)
        assert response.status_code == 200, response.text
        return response

    results["cases"]["baseline: GET /api/auth/me"] = _measure(me, current.db.engine, requests)
    for name, body in searches.items():

        def call(body: dict[str, Any] = body) -> Any:
            response = client.post("/api/appointments/search-providers", json=body, headers=headers)
            assert response.status_code == 200, response.text
            return response

        total = call().json()["total"]
        results["cases"][f"search: {name}"] = _measure(call, current.db.engine, requests) | {
            "matches": total
        }

    def slots() -> Any:
        response = client.get(
            f"/api/providers/{provider}/available-slots",
            params={"date": soon.isoformat()},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        return response

    results["cases"]["available-slots"] = _measure(slots, current.db.engine, requests)
    for name, body in searches.items():
        results["cases"][f"use case only: {name}"] = _use_case(current, body, requests)
    results["load_average_after"] = os.getloadavg()
    current.db.dispose()
    return results


def _use_case(current: Services, body: dict[str, Any], requests: int) -> dict[str, float]:
    """`search_providers` alone (SQL and the slot rule, no HTTP stack), on a fresh session."""
    filters = filters_from(body)
    zone = current.settings.clinic_zone

    def call() -> Any:
        with current.db.new_session() as session:
            return provider_search.search_providers(
                session, filters, page=1, limit=20, now=datetime.now(UTC), zone=zone
            )

    return _measure(call, current.db.engine, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=2000)
    parser.add_argument("--appointments", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--server", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument("--keep", help="reuse (or create and keep) this database name")
    results = run(parser.parse_args())
    print(
        f"database: {results['database']}; {results['cpus']} CPUs, load average "
        f"{results['load_average_before'][0]:.1f} before, "
        f"{results['load_average_after'][0]:.1f} after"
    )
    print(f"{'case':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL/req':>8} {'matches':>8}")
    for name, row in results["cases"].items():
        print(
            f"{name:34} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['max_ms']:8.1f} "
            f"{row['statements_per_request']:8.1f} {row.get('matches', ''):>8}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
