"""The runner's reading of schemathesis' JUnit report: which operations failed, and which of
those failed because the server answers 501 NOT_IMPLEMENTED."""

from __future__ import annotations

from pathlib import Path

from run import failures_by_operation, not_implemented_operations, parse_args

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites errors="0" failures="2" skipped="0" tests="3" time="1.0">
  <testsuite name="schemathesis" errors="0" failures="2" skipped="0" tests="3" time="1.0">
    <testcase name="GET /health" time="0.1" />
    <testcase name="GET /api/appointments" time="0.7">
      <failure type="failure" message="ST101, ST103">1. Test Case ID: nDpe0D
- ST101 Server error
- ST103 Undocumented status code
    Received: 501
    Documented: 200, 400, 401, 403, 429, 500</failure>
    </testcase>
    <testcase name="POST /api/auth/login" time="0.2">
      <failure type="failure" message="ST102">1. Test Case ID: a1b2c3
- ST102 Response violates schema
[200] OK</failure>
    </testcase>
  </testsuite>
</testsuites>
"""


def test_failures_are_read_per_operation(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(REPORT)
    assert failures_by_operation(junit) == {
        "GET /api/appointments": ["ST101, ST103"],
        "POST /api/auth/login": ["ST102"],
    }


def test_only_501_answers_are_marked_not_implemented(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(REPORT)
    assert not_implemented_operations(junit) == {"GET /api/appointments"}


def test_a_missing_report_reads_as_nothing(tmp_path: Path) -> None:
    assert failures_by_operation(tmp_path / "none.xml") == {}
    assert not_implemented_operations(tmp_path / "none.xml") == set()


def test_the_full_run_is_the_default() -> None:
    args = parse_args([])
    assert args.include_operation_id == [] and args.role is None and not args.skip_clients
