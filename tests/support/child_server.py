"""`portal serve` as a child process, for the tools that need a real server on a real socket:
integration tests (browsers, several workers, Redis), the contract run and the benchmarks.

One way to pick a port, start the server, wait for `GET /health`, and stop it (SIGINT, so
uvicorn shuts its workers down and each seals its last audit entries; the whole process group
is killed if that takes too long).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import ports as ports_module

STOP_TIMEOUT_SECONDS = 30


def free_port(ports: range) -> int:
    """The first port of `ports` nothing listens on at 127.0.0.1."""
    return ports_module.free_port(ports=ports)


@dataclass(frozen=True)
class ChildServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def serving(
    env: Mapping[str, str],
    *,
    port: int,
    workers: int = 1,
    log: Path | None = None,
    startup_timeout: float = 90,
    command_module: str = "portal.ops.cli",
) -> Iterator[ChildServer]:
    """`portal serve` on 127.0.0.1:`port` with `env`, answering /health, until the block ends.
    Its output goes to `log` (a temporary file when not given), whose tail a failed start
    reports. `command_module` is what `python -m` runs with the `serve` arguments (a bench's
    variant of the `portal` command)."""
    with tempfile.TemporaryDirectory(prefix="portal-serve-") as scratch:
        log = log or Path(scratch) / "server.log"
        command = [sys.executable, "-m", command_module, "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(workers)]
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, env=dict(env), stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the workers go with it
            )  # fmt: skip
        server = ChildServer(f"http://127.0.0.1:{port}", process, log)
        try:
            _wait_until_healthy(server, startup_timeout)
            yield server
        finally:
            _stop(process)


def _wait_until_healthy(server: ChildServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {server.process.returncode}:\n{_tail(server.log)}"
            )
        try:
            with urllib.request.urlopen(f"{server.base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"the server at {server.base_url} did not answer /health within {timeout:.0f} s:\n"
        f"{_tail(server.log)}"
    )


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers left behind, or a stuck shutdown
    process.wait()
