"""What `make load` and `make bench` share: a throw-away MariaDB database with the demo data and
simulated patients, and the real server (`portal serve --workers N`) started on it."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import subprocess
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.support import child_server, ports

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# The bench's own ports, unless PORTAL_TEST_PORTS gives this run a range of its own: several
# people benchmarking on one machine otherwise race for the same free port and measure each
# other's servers.
PORTS = ports.port_range() if "PORTAL_TEST_PORTS" in os.environ else range(3700, 3800)
DEFAULT_SERVER = "mysql+pymysql://root@127.0.0.1:3306/test"
LOAD_PASSWORD = "load-test-password-2025"
LARGE_FILE_BYTES = 10 * 1024 * 1024
LARGE_EVERY = 20  # every 20th simulated patient also has a 10 MB attachment


def load_patient_email(number: int) -> str:
    return f"load-patient-{number:03d}@example.com"


@dataclass
class LoadDatabase:
    url: str
    storage_path: Path
    patients: int


# One run's keys: the seed writes with them, the production-mode server reads with them.
LOAD_PHI_KEYS = "load:" + base64.b64encode(os.urandom(32)).decode()
LOAD_STORAGE_KEY = os.urandom(32).hex()
# Secrets of the run's servers, shared by all of them like the hosts of one deployment.
LOAD_JWT_SECRET = secrets.token_urlsafe(48)
LOAD_AUDIT_CHAIN_KEY = secrets.token_urlsafe(48)
# The statement counter of the server's /metrics (one histogram series per kind and database).
_STATEMENT_COUNT = re.compile(
    r'^portal_db_query_duration_seconds_count\{(?=[^}]*kind="([^"]*)")[^}]*\} (\S+)$', re.M
)


def mysql_server_url() -> str:
    return os.environ.get("LOAD_MYSQL_URL") or os.environ.get("TEST_MYSQL_URL") or DEFAULT_SERVER


@contextmanager
def load_database(patients: int) -> Iterator[LoadDatabase]:
    """A new MariaDB database (dropped afterwards unless KEEP_LOAD_DB=1), migrated and seeded."""
    server = sa.engine.make_url(mysql_server_url())
    name = f"portal_load_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.set(database=None))
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    url = server.set(database=name).render_as_string(hide_password=False)
    storage = Path(tempfile.mkdtemp(prefix="portal-load-files-"))
    try:
        _prepare(url, storage, patients)
        yield LoadDatabase(url, storage, patients)
    finally:
        if os.environ.get("KEEP_LOAD_DB") != "1":
            with admin.connect() as connection:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            subprocess.run(["rm", "-rf", str(storage)], check=False)
        else:
            print(f"kept database {name} and files in {storage}")
        admin.dispose()


def _prepare(url: str, storage_path: Path, patients: int) -> None:
    from kernel.settings import load_settings
    from portal.ops import migrate
    from portal.ops.demo.seed import clinic_today, seed_with_settings
    from portal.runtime import build_services

    settings = load_settings(
        app_env="development",
        database_url=url,
        storage_path=str(storage_path),
        phi_encryption_keys=LOAD_PHI_KEYS,
        storage_encryption_key=LOAD_STORAGE_KEY,
    )
    migrate.upgrade(url)
    current = build_services(settings)
    today = clinic_today(settings.clinic_zone)
    seed_with_settings(current)
    current.db.run(lambda session: _add_patients(session, current.storage, patients, today))
    current.db.dispose()


def _add_patients(session, storage, count: int, today) -> None:  # type: ignore[no-untyped-def]
    """`count` patients sharing one password hash, each with one record and a small PDF; every
    LARGE_EVERY-th also with a 10 MB file (the size of the download target)."""
    from adapters.storage import new_storage_key
    from models import MedicalRecord, MedicalRecordAttachment, User
    from portal.ops.demo.sample_files import pdf_document
    from security.passwords import hash_password

    password_hash = hash_password(LOAD_PASSWORD)
    doctor = session.scalar(sa.select(User.id).where(User.email == "doctor1@example.com"))
    small = pdf_document("Lab result", ["Simulated patient", "Load test document"])
    large = os.urandom(1024) * (LARGE_FILE_BYTES // 1024)
    small_key, large_key = new_storage_key("records"), new_storage_key("records")
    storage.save(small_key, [small])
    storage.save(large_key, [large[i : i + 65536] for i in range(0, len(large), 65536)])
    files = {
        "small": (small_key, "lab-result.pdf", "application/pdf", small),
        "large": (large_key, "imaging-study.dcm", "application/dicom", large),
    }
    for number in range(1, count + 1):
        patient = User(
            email=load_patient_email(number), password_hash=password_hash, role="patient",
            first_name="Load", last_name=f"Patient{number:03d}", phone="555-0100",
        )  # fmt: skip
        session.add(patient)
        session.flush()
        kinds = ["small", "large"] if number % LARGE_EVERY == 0 else ["small"]
        for offset, kind in enumerate(kinds):
            record = MedicalRecord(
                patient_id=patient.id, provider_id=doctor, type="lab_result",
                title=f"Load test {kind} file", date=today - timedelta(days=10 + offset),
                description="Generated by the load test", is_new=True,
            )  # fmt: skip
            session.add(record)
            session.flush()
            key, name, mime, content = files[kind]
            attachment = MedicalRecordAttachment(
                record_id=record.id, file_name=name, file_type=mime, file_size=len(content),
                storage_path=key, sha256=hashlib.sha256(content).hexdigest(),
            )  # fmt: skip
            session.add(attachment)
            session.flush()
            attachment.url = (
                f"/api/medical-records/{record.id}/attachments/{attachment.id}/download"
            )


def free_port(ports: range = PORTS) -> int:
    wanted = os.environ.get("LOAD_PORT")
    return int(wanted) if wanted else child_server.free_port(ports)


@dataclass
class Server:
    base_url: str
    metrics_token: str
    pid: int  # the master process; its workers are its children


@contextmanager
def running_server(
    db: LoadDatabase,
    workers: int,
    log_name: str,
    *,
    port: int | None = None,
    overrides: dict[str, str] | None = None,
    command_module: str = "portal.ops.cli",
) -> Iterator[Server]:
    """`portal serve --workers N` in production mode on `db`, until the block ends;
    `overrides` replace some of the environment below; `command_module` runs a bench variant
    of the `portal` command instead (`bench.no_outbox`)."""
    port = port or free_port()
    token = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "APP_ENV": "production",
        "JWT_SECRET": LOAD_JWT_SECRET,
        # the keys the data was seeded with (production refuses to start without keys)
        "PHI_ENCRYPTION_KEYS": LOAD_PHI_KEYS,
        "STORAGE_ENCRYPTION_KEY": LOAD_STORAGE_KEY,
        "AUDIT_CHAIN_KEY": LOAD_AUDIT_CHAIN_KEY,
        "AUDIT_CHECKPOINT": f"file://{db.storage_path.parent / 'audit-checkpoints.log'}",
        "DATABASE_URL": db.url,
        "DATABASE_POOL_SIZE": os.environ.get("DATABASE_POOL_SIZE", "20"),
        "STORAGE_PATH": str(db.storage_path),
        "METRICS_TOKEN": token,
        "LOG_LEVEL": os.environ.get("LOAD_LOG_LEVEL", "info"),
        # The limiter runs (its cost is part of every request) with limits a load test never
        # reaches: 100 patients log in from one address.
        "RATE_LIMIT_MAX_REQUESTS": "1000000",
        "RATE_LIMIT_AUTH_MAX": "1000000",
        "RATE_LIMIT_BOOKING_MAX": "1000000",
        # counters shared by the workers, as in production (docs/operations.md)
        "RATE_LIMIT_STORAGE_URL": os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/0"),
        **(overrides or {}),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with child_server.serving(
        env,
        port=port,
        workers=workers,
        log=RESULTS / log_name,
        startup_timeout=120,
        command_module=command_module,
    ) as server:
        yield Server(server.base_url, token, server.process.pid)


def fetch_metrics(server: Server) -> str:
    """The server's /metrics text, or "" when it does not answer in time: logins still queued
    behind argon2 when the load stops can hold every worker thread for a while."""
    request = urllib.request.Request(
        f"{server.base_url}/metrics", headers={"Authorization": f"Bearer {server.metrics_token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read().decode()
    except OSError as exc:
        print(f"could not read /metrics: {exc}")
        return ""


def statement_counts(metrics_text: str) -> dict[str, float]:
    """SQL statements the server has run since it started, per kind (SELECT, INSERT, ...; all
    databases), from its /metrics text."""
    counts: dict[str, float] = {}
    for kind, count in _STATEMENT_COUNT.findall(metrics_text):
        counts[kind] = counts.get(kind, 0.0) + float(count)
    return counts


def scrape_cost(server: Server) -> dict[str, float]:
    """The statements a read of /metrics runs itself (two reads in a row)."""
    first = statement_counts(fetch_metrics(server))
    second = statement_counts(fetch_metrics(server))
    return {kind: count - first.get(kind, 0.0) for kind, count in second.items()}
