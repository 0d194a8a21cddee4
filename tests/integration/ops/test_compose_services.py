"""Each service of docker-compose.yml built from our image, run on this machine as a container of
it would run: its command (else the image's CMD), the image's ENV overlaid with exactly the
service's environment, in dependency order. The services it names are translated to local
stand-ins: MariaDB (primary and replica) to a fresh database on the test server, Redis to the
local one, MinIO to moto's S3 server, the bucket one-shot to creating that bucket. A one-shot
(`migrate`) must exit 0; a long-running service (`app`) must pass its own health check."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from tests.conftest import redis_url_or_skip, temporary_mysql_database
from tests.support.compose_file import (
    Image,
    depends_on,
    load_compose,
    operator_variables,
    read_dockerfile,
    service_command,
    service_environment,
    service_healthcheck,
)
from tests.support.s3_server import S3Server
from tests.support.servers import free_port

pytestmark = pytest.mark.mariadb

ONE_SHOT_TIMEOUT_SECONDS = 180
HEALTHY_TIMEOUT_SECONDS = 120  # the image's own start period is 20 s; CI machines are busy
STOP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class StandIns:
    """This machine's equivalent of each service the app's environment names."""

    database_url: str
    redis_netloc: str
    s3: S3Server

    def netloc(self, image: str) -> str | None:
        if image.startswith("redis:"):
            return self.redis_netloc
        if image.startswith("minio/minio:"):
            return urlsplit(self.s3.endpoint_url).netloc
        return None

    def translate_url(self, value: str, services: Mapping[str, Any]) -> str:
        """A URL naming a compose service, pointed at that service's stand-in."""
        parts = urlsplit(value)
        if parts.hostname not in services:
            return value
        image = services[parts.hostname].get("image", "")
        if image.startswith("mariadb:"):  # the compose user and database exist only there
            local = urlsplit(self.database_url)
            return urlunsplit((parts.scheme, local.netloc, local.path, "", ""))
        netloc = self.netloc(image)
        assert netloc, f"no local stand-in for {parts.hostname} ({image})"
        return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def stand_ins(s3_server: S3Server) -> Iterator[StandIns]:
    redis_url = redis_url_or_skip()
    with temporary_mysql_database("portal_compose") as database_url:
        yield StandIns(database_url, urlsplit(redis_url).netloc, s3_server)


def container_environment(
    service: Mapping[str, Any],
    image: Image,
    services: Mapping[str, Any],
    stand_ins: StandIns,
    root: Path,
) -> dict[str, str]:
    """The image's ENV and the service's environment, translated to this machine: service
    hosts to their stand-ins, the container's paths under `root`, the listening address to
    loopback on a free test port, and PATH to this virtualenv's `portal` and `python`."""
    env = {**image.env, **service_environment(service)}
    for name, value in env.items():
        if "://" in value:
            env[name] = stand_ins.translate_url(value, services)
        elif value.startswith("/"):
            env[name] = str(root / value.lstrip("/"))
    env["HOST"] = "127.0.0.1"  # 0.0.0.0 in the image; tests bind loopback only
    env["PORT"] = str(free_port())
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    return env


def start_order(services: Mapping[str, Any]) -> list[str]:
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        assert name not in path, f"dependency cycle: {(*path, name)}"
        if name not in order:
            for dependency in depends_on(services[name]):
                visit(dependency, (*path, name))
            order.append(name)

    for name in services:
        visit(name)
    return order


def emulate(name: str, service: Mapping[str, Any], stand_ins: StandIns) -> None:
    """What a service not built from our image does, done to its stand-in."""
    image = service.get("image", "")
    if image.startswith("minio/mc:"):  # the bucket one-shot
        stand_ins.s3.new_bucket(service_environment(service)["AWS_S3_BUCKET"])
    elif not (image.startswith(("mariadb:", "redis:", "minio/minio:", "nginx:"))):
        pytest.fail(f"{name}: no local stand-in for {image}")


def run_one_shot(name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=ONE_SHOT_TIMEOUT_SECONDS
    )
    assert done.returncode == 0, f"{name}: {argv} exited {done.returncode}:\n{done.stderr[-4000:]}"


@contextlib.contextmanager
def long_running(
    name: str, argv: list[str], check: list[str], env: dict[str, str], cwd: Path
) -> Iterator[None]:
    """The service running until its health check passes; stopped (SIGINT) after the block."""
    log = cwd / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + HEALTHY_TIMEOUT_SECONDS
        while True:
            assert process.poll() is None, f"{name} exited {process.returncode}:\n{_tail(log)}"
            probe = subprocess.run(check, env=env, cwd=cwd, capture_output=True, timeout=10)
            if probe.returncode == 0:
                break
            assert time.monotonic() < deadline, f"{name}: health check never passed:\n{_tail(log)}"
            time.sleep(1)
        yield
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


def test_each_service_of_our_image_runs_with_the_compose_environment(
    stand_ins: StandIns, tmp_path: Path
) -> None:
    services = load_compose(operator_variables())["services"]
    image = read_dockerfile()
    one_shots = {
        dependency
        for service in services.values()
        for dependency, condition in depends_on(service).items()
        if condition == "service_completed_successfully"
    }
    ours = [name for name in start_order(services) if "build" in services[name]]
    assert {"migrate", "app"} <= set(ours)  # `worker` joins them when it exists

    with contextlib.ExitStack() as running:
        for name in start_order(services):
            service = services[name]
            if "build" not in service:
                emulate(name, service, stand_ins)
                continue
            root = tmp_path / name
            cwd = root / image.workdir.lstrip("/")
            cwd.mkdir(parents=True)
            env = container_environment(service, image, services, stand_ins, root)
            argv = service_command(service, image)
            if name in one_shots:
                run_one_shot(name, argv, env, cwd)
                continue
            check = service_healthcheck(service, image)
            assert check, f"{name}: long-running without a health check"
            running.enter_context(long_running(name, argv, check, env, cwd))
            if name == "app":
                url = f"http://127.0.0.1:{env['PORT']}/health"
                with urllib.request.urlopen(url, timeout=5) as health:
                    assert health.status == 200
                    assert json.load(health) == {"status": "ok", "database": "ok"}

    engine = sa.create_engine(stand_ins.database_url)
    with engine.connect() as connection:  # migrate's work, on the primary
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
