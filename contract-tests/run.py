"""`make contract`: schemathesis against the real server, as a patient and as a doctor, then the
generated-clients test against the same server. Exits non-zero on any failure.

    .venv/bin/python contract-tests/run.py                         # everything (CI)
    .venv/bin/python contract-tests/run.py --include-operation-id login \
        --include-operation-id getHealth                           # local only: a subset
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
# this folder's modules, and the repository's (tests.support.child_server starts the server)
sys.path[:0] = [str(HERE), str(HERE.parent)]

from server import REPORTS, ROOT, RunningServer, running_server  # noqa: E402 (after sys.path)

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ROLES = {"patient": "patient1@example.com", "doctor": "doctor1@example.com"}
# Every phase: schema examples, coverage (boundaries, negative data), fuzzing and stateful
# link-following (createAppointment -> get/reschedule/cancel, records -> download).
PHASES = "examples,coverage,fuzzing,stateful"
# How schemathesis reports a 501 answer in a failure ("Received: 501" or "[501] Not Implemented").
NOT_IMPLEMENTED = re.compile(r"Received: 501\b|\[501\]")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("CONTRACT_PORT", 3600)))
    parser.add_argument("--database", choices=["auto", "mariadb", "sqlite"], default="auto")
    parser.add_argument("--seed", type=int, default=20261125, help="schemathesis seed (fixed)")
    parser.add_argument("--max-examples", type=int, default=20, help="test cases per operation")
    parser.add_argument("--role", action="append", choices=sorted(ROLES), help="default: all")
    parser.add_argument(
        "--include-operation-id",
        action="append",
        default=[],
        metavar="ID",
        help="LOCAL USE ONLY: test just these operations (CI always tests every operation)",
    )
    parser.add_argument(
        "--skip-clients", action="store_true", help="skip the generated-clients test"
    )
    return parser.parse_args(argv)


def schemathesis_command(
    server: RunningServer, role: str, headers: dict[str, str], args: argparse.Namespace
) -> list[str]:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{server.base_url}/api/openapi.json",  # the spec as the server publishes it
        "--url",
        server.base_url,
        "--checks",
        "all",
        "--phases",
        # Links join operations a subset may leave out; the full run always follows them.
        PHASES.removesuffix(",stateful") if args.include_operation_id else PHASES,
        "--mode",
        "all",
        "--seed",
        str(args.seed),
        "--max-examples",
        str(args.max_examples),
        "--generation-database",
        "none",  # no examples remembered between runs: the seed alone decides
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "too_slow,filter_too_much",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(REPORTS / f"junit-{role}.xml"),
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    for operation_id in args.include_operation_id:
        command += ["--include-operation-id", operation_id]
    return command


def failures_by_operation(junit: Path) -> dict[str, list[str]]:
    """{'POST /api/appointments': [first line of each failure], ...} from a JUnit report."""
    if not junit.exists():
        return {}
    failed: dict[str, list[str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        problems = [
            (node.get("message") or node.text or "").strip().splitlines()[:1]
            for node in case
            if node.tag in ("failure", "error")
        ]
        if problems:
            failed[case.get("name", "?")] = [p[0] if p else "" for p in problems]
    return failed


def not_implemented_operations(junit: Path) -> set[str]:
    """Operations whose failures include the server's 501 NOT_IMPLEMENTED answer."""
    if not junit.exists():
        return set()
    return {
        case.get("name", "?")
        for case in ET.parse(junit).getroot().iter("testcase")
        if any(NOT_IMPLEMENTED.search(node.text or "") for node in case)
    }


def run_schemathesis(server: RunningServer, args: argparse.Namespace) -> bool:
    ok = True
    for role in args.role or sorted(ROLES):
        login = server.login(ROLES[role])
        print(f"== schemathesis as {role} ({login.email}) on {server.database}", flush=True)
        started = time.monotonic()
        result = subprocess.run(schemathesis_command(server, role, login.headers, args), cwd=ROOT)
        print(f"== {role}: exit {result.returncode} in {time.monotonic() - started:.0f}s")
        if result.returncode != 0:
            ok = False
            junit = REPORTS / f"junit-{role}.xml"
            pending = not_implemented_operations(junit)
            for operation, problems in sorted(failures_by_operation(junit).items()):
                marker = " (answers 501: not implemented yet)" if operation in pending else ""
                print(f"   FAILED {operation}{marker}: {problems[0][:160]}")
    return ok


def run_client_tests(server: RunningServer) -> bool:
    print("== generated clients", flush=True)
    env = {**os.environ, "PORTAL_CONTRACT_URL": server.base_url}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "contract-tests"],
        cwd=ROOT,
        env=env,
    )
    return result.returncode == 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    REPORTS.mkdir(parents=True, exist_ok=True)
    if args.include_operation_id:
        print(f"contract: LOCAL SUBSET, only {', '.join(args.include_operation_id)}")
    with running_server(args.port, args.database) as server:
        print(f"contract: server at {server.base_url} on {server.database}", flush=True)
        ok = run_schemathesis(server, args)
        if not args.skip_clients:
            ok = run_client_tests(server) and ok
    print("contract: OK" if ok else f"contract: FAILED (reports and server log in {REPORTS})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
