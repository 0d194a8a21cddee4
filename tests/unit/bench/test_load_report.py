"""The load test's report (bench/load.py): percentiles, verdict and the Markdown table."""

from __future__ import annotations

import argparse

from bench.load import build_report, percentile, to_markdown

NO_PROBLEMS = {
    "appointmentsInDatabase": 10,
    "successfulBookings": 4,
    "cancelledByTheTest": 3,
    "doubleBookings": [],
    "bookingsMissingFromDatabase": [],
    "bookingsNotAsConfirmed": [],
}
ARGS = argparse.Namespace(users=20, duration=20, workers=2, think="0.5,2", arrival="spread")


def endpoint(name: str, p95: float, failures: dict[str, int] | None = None) -> dict:  # type: ignore[type-arg]
    return {
        "name": name, "method": "GET", "requests": 100, "failures": failures or {},
        "p50_ms": 10.0, "p95_ms": p95, "p99_ms": p95 + 5, "rps": 5.0,
    }  # fmt: skip


def test_percentiles_from_locusts_histogram() -> None:
    times = {"10": 50, "20": 45, "300": 5}  # ms -> count
    assert percentile(times, 0.50) == 10
    assert percentile(times, 0.95) == 20
    assert percentile(times, 0.99) == 300
    assert percentile({}, 0.95) is None


def test_a_clean_run_passes_and_reports_target_misses_without_failing() -> None:
    report = build_report(
        ARGS,
        [endpoint("list appointments", 250), endpoint("search providers", 450)],
        NO_PROBLEMS,
        'portal_booking_outcomes_total{outcome="success"} 4.0\n',
        0,
    )
    assert report["passed"]
    assert report["latencyTargetMisses"] == ["list appointments: p95 250 ms > 200 ms"]
    assert report["bookingOutcomesFromMetrics"] == {"success": 4.0}


def test_server_errors_double_bookings_and_lost_bookings_fail_the_run() -> None:
    checks = {
        **NO_PROBLEMS,
        "doubleBookings": [{"provider": "p", "date": "2026-12-01", "ids": ["a", "b"]}],
        "bookingsMissingFromDatabase": ["c"],
    }
    report = build_report(ARGS, [endpoint("book", 40, {"500": 2, "409": 0})], checks, "", 0)
    assert not report["passed"]
    assert report["problems"][0] == "5xx answers: {'book': {'500': 2}}"
    assert "1 double bookings" in report["problems"]
    assert "bookings missing from the database or not as confirmed" in report["problems"]


def test_the_markdown_table_has_one_row_per_endpoint() -> None:
    report = build_report(ARGS, [endpoint("book", 40, {"501": 3})], NO_PROBLEMS, "", 0)
    table = to_markdown(report)
    assert (
        "| endpoint | requests | failures (by status) | p50 ms | p95 ms | p99 ms | req/s |" in table
    )
    assert "| GET book | 100 | 501: 3 | 10 | 40 | 45 | 5.0 |" in table
    assert "result: FAIL: 5xx answers" in table
