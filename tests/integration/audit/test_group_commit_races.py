"""Many audited reads at once through real HTTP against a multi-worker `portal serve` (the server
of test_booking_races), on SQLite and on MariaDB: each worker group-commits the entries of the
requests it serves together, and still the trail holds exactly one entry per request, with its
request id, caller and outcome, and the chain sealed over them verifies."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import sqlalchemy as sa

from models.audit.tables import AuditLog
from models.audit.use_cases import seal_now, verify
from tests.integration.appointments.test_booking_races import (  # noqa: F401 (fixtures)
    PATIENTS,
    RunningServer,
    mysql_race_database,
    server,
)
from tests.support.appointments import user_id

READS = 60


def _reads(running: RunningServer, prefix: str) -> list[tuple[str, str, dict[str, str], str]]:
    """(request id, url, headers, patient email): the patients' own profile, their list, and
    an appointment that does not exist (a 404, audited as a failure), in turn."""
    calls = []
    for n in range(READS):
        email = PATIENTS[n % len(PATIENTS)]
        path = ("/api/auth/me", "/api/appointments?limit=5", f"/api/appointments/{uuid.uuid4()}")
        url = running.base_url + path[n % 3]
        request_id = f"{prefix}-{n}"
        headers = running.headers(email) | {"X-Request-ID": request_id}
        calls.append((request_id, url, headers, email))
    return calls


def _get(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_simultaneous_reads_have_one_entry_each_and_the_chain_verifies(server: RunningServer):  # noqa: F811 (the imported fixture)
    prefix = f"group-{uuid.uuid4().hex[:8]}"
    calls = _reads(server, prefix)
    barrier = threading.Barrier(len(calls))

    def fire(call: tuple[str, str, dict[str, str], str]) -> int:
        barrier.wait()
        return _get(call[1], call[2])

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        statuses = list(pool.map(fire, calls))
    assert statuses == [(200, 200, 404)[n % 3] for n in range(READS)]

    services = server.services
    chain = replace(services.audit_chain, checkpoints=None)  # the server keeps its own log
    seal_now(services.db, chain)
    with services.db.new_session() as session:
        entries = session.scalars(
            sa.select(AuditLog).where(AuditLog.request_id.like(f"{prefix}-%"))
        ).all()
        users = {email: user_id(session, email) for email in PATIENTS}
        report = verify(session, chain)

    by_request = {entry.request_id: entry for entry in entries}
    assert len(entries) == len(by_request) == READS  # one entry per request, none twice
    for n, (request_id, _url, _headers, email) in enumerate(calls):
        entry = by_request[request_id]
        assert entry.user_id == users[email]
        assert (entry.action, entry.status) == [
            ("READ_CURRENT_USER", "success"),
            ("LIST_APPOINTMENTS", "success"),
            ("READ_APPOINTMENT", "failure"),
        ][n % 3]
        assert entry.seq is not None
    assert report.intact, report.problem
    assert report.unsealed == 0
