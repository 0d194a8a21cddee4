"""Outbox workers as real processes: two at once deliver each message once; one killed between
handing a message over and recording it leaves it to be sent again with the same Message-ID;
`portal serve` in development delivers by itself (what `make run` relies on)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from datetime import time as clock_time
from pathlib import Path

import httpx

from kernel.clock import utcnow
from models.notifications.queries import add_messages
from models.notifications.rules import Visit
from models.notifications.use_cases import _message
from portal.runtime import Services
from tests.conftest import Backend
from tests.support.appointments import NEXT_WEDNESDAY, booking
from tests.support.factories import a_patient
from tests.support.servers import running_server, server_env
from tests.support.smtp_server import SmtpServer, smtp_server
from tests.support.waiting import wait_until


def wednesday_ahead() -> date:
    """The first Wednesday at least two days after the real today: a server process runs on the
    real clock, so its booking date cannot be the frozen tests' fixed one."""
    start = utcnow().date() + timedelta(days=2)
    return start + timedelta(days=(2 - start.weekday()) % 7)


def worker_env(backend: Backend, smtp: SmtpServer, **overrides: str) -> dict[str, str]:
    return server_env(
        backend.url,
        SMTP_HOST=smtp.host,
        SMTP_PORT=str(smtp.port),
        SMTP_STARTTLS="false",
        NOTIFICATION_POLL_SECONDS="0.2",
        **overrides,
    )


def worker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "portal.ops.cli", "worker", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def queue_messages(services: Services, count: int) -> None:
    """`count` confirmations due now, written straight into the outbox."""
    with services.db.new_session() as session:
        patient = a_patient(session)
        rows = []
        for number in range(count):
            visit = Visit(
                appointment_id=f"a{number}",
                day=NEXT_WEDNESDAY,
                start=clock_time(9),
                minutes=30,
                zone="America/New_York",
                provider="Dr. Sarah Johnson",
                location="1 Main St",
                meeting_url=None,
                status="scheduled",
                sequence=0,
            )
            rows.append(_message("booked", visit, patient.id, utcnow(), utcnow(), services.outbox))
        add_messages(session, rows)
        session.commit()


def test_two_workers_deliver_each_message_once(backend: Backend, services: Services):
    """On MariaDB their claims skip each other's locked rows; SQLite serialises them."""
    queue_messages(services, 40)
    with smtp_server() as smtp:
        env = worker_env(backend, smtp)
        first, second = worker(env, "--once"), worker(env, "--once")
        for process in (first, second):
            output, _ = process.communicate(timeout=120)
            assert process.returncode == 0, output.decode()
        ids = smtp.inbox.message_ids()
    assert len(ids) == 40 and len(set(ids)) == 40


def test_a_worker_killed_after_handing_a_message_over_leaves_it_to_be_sent_again(
    backend: Backend, services: Services
):
    queue_messages(services, 1)
    with smtp_server() as smtp:
        env = worker_env(backend, smtp, NOTIFICATION_LEASE_SECONDS="1")
        smtp.inbox.release.clear()  # the server keeps the message but holds its answer
        doomed = worker(env)
        try:
            assert smtp.inbox.received.wait(60), "the worker never sent the message"
        finally:
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=30)
        smtp.inbox.release.set()
        time.sleep(1.2)  # past the dead worker's lease
        again = worker(env, "--once")
        output, _ = again.communicate(timeout=120)
        assert again.returncode == 0, output.decode()
        ids = smtp.inbox.message_ids()
    assert len(ids) == 2 and ids[0] == ids[1]


def test_portal_serve_in_development_delivers_its_own_mail(
    backend: Backend, services: Services, auth, doctor, tmp_path: Path
):
    """`make run`: no SMTP server, no second command; mail lands in MAIL_DIRECTORY."""
    mail = tmp_path / "mail"
    env = server_env(
        backend.url,
        APP_ENV="development",
        MAIL_DIRECTORY=str(mail),
        NOTIFICATION_POLL_SECONDS="0.2",
        RATE_LIMIT_ENABLED="false",
    )
    env.pop("SMTP_HOST", None)
    day = wednesday_ahead()
    with running_server(env) as base_url:
        slots = httpx.get(
            f"{base_url}/api/providers/{doctor}/available-slots",
            params={"date": day.isoformat()},
            headers=auth("patient1@example.com"),
        ).json()["slots"]
        assert slots, "the demo doctor has a free slot next Wednesday"
        response = httpx.post(
            f"{base_url}/api/appointments",
            json=booking(doctor, day, slots[0]),
            headers=auth("patient1@example.com"),
        )
        assert response.status_code == 201, response.text
        written = wait_until(lambda: sorted(mail.glob("*.eml")), timeout=30, what="a mail file")
    text = written[0].read_text()
    assert "Subject: Your appointment is booked" in text
    assert "To: Emily Carter <patient1@example.com>" in text
