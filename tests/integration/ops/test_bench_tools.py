"""The benchmark tools still run (nothing else exercises them between measurements)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import mysql_server_or_skip, temporary_mysql_database
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_make_profile_runs_both_endpoints_in_production_settings() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.profile", "--requests", "3", "--no-profile"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "GET /health:" in done.stdout
    assert "GET /api/auth/me:" in done.stdout


@pytest.mark.mariadb
def test_make_bench_providers_drives_every_case_through_a_real_server(tmp_path: Path) -> None:
    """`make bench-providers` at toy scale: seeds, serves, measures every case, writes JSON."""
    server = mysql_server_or_skip()
    results = tmp_path / "providers.json"
    with temporary_mysql_database("portal_bench_smoke") as url:
        done = subprocess.run(
            [
                sys.executable, "-m", "bench.providers", "--providers", "30",
                "--appointments", "300", "--requests", "3",
                "--server", server, "--keep", sa.engine.make_url(url).database,
                "--port", str(free_port()), "--limiter-storage", "memory://",
                "--results", str(results),
            ],
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(results.read_text())
    assert report["database"]["providers"] == 31  # and the west-coast demo doctor
    assert report["database"]["appointments"] >= 300
    searches = {name: row for name, row in report["cases"].items() if name.startswith("search:")}
    assert len(searches) == 8
    for name, row in searches.items():
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["max_ms"], name
        assert 0 < row["statements_per_request"] <= 7, name
    assert searches["search: no filter"]["matches"] == 31
    assert report["cases"]["available-slots"]["statements_per_request"] > 0


@pytest.mark.mariadb
def test_make_bench_measures_every_endpoint_and_the_floor(tmp_path: Path) -> None:
    """`make bench` in seconds: both floor apps and every endpoint answer as expected and get
    a CPU figure (and its event loop's part) and a ratio to the floor; booking also runs on the
    counterfactual server (its outbox writes removed), which writes no outbox rows, and the
    outbox writes of one booking reach MariaDB as one INSERT."""
    server = mysql_server_or_skip()
    results = tmp_path / "bench.json"
    env = {**os.environ, "LOAD_MYSQL_URL": server, "LOAD_REDIS_URL": "memory://"}
    done = subprocess.run(
        [
            sys.executable, "-m", "bench.floor", "--seconds", "0.5", "--connections", "2",
            # enough bookings per turn for the server's CPU to pass /proc's 10 ms tick
            "--writes", "32", "--results", str(results),
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(results.read_text())
    names = [row["endpoint"] for row in report["endpoints"]]
    assert len(names) == 13
    assert {"POST /api/auth/login", "GET /api/appointments/{id}"} <= set(names)
    for row in [*report["floor"], *report["endpoints"]]:
        assert row["requests"] > 0 and not row["unexpected"], row
        assert row["cpu_ms_per_request"] > 0 and row["x_floor"] > 0, row
        assert 0 <= row["loop_cpu_ms_per_request"] <= row["cpu_ms_per_request"], row
    sql = {row["endpoint"]: row["sql_per_request"] for row in report["endpoints"]}
    assert all(count is not None for count in sql.values()), sql
    assert sql["GET /api/appointments/{id}"] > 0 and sql["GET /api/medical-records"] > 0, sql
    assert "| connexion FlaskApp hello (the floor) |" in done.stdout
    assert "| POST /api/appointments (book, outbox writes removed: bench counterfactual) |" in (
        done.stdout
    )
    booking = report["booking_outbox"]
    assert 1 <= booking["with_outbox"]["outbox_rows_per_booking"] <= 3  # confirmation, reminders
    assert booking["without_outbox"]["outbox_rows_per_booking"] == 0
    assert booking["with_outbox"]["sql_per_booking"] > 0
    assert booking["without_outbox"]["sql_per_booking"] > 0
    assert booking["on_booked_in_process"]["mariadb_inserts_per_booking"] == 1.0
    assert "server CPU ms/booking: with" in done.stdout
