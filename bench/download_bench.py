"""Benchmark: 20 concurrent downloads of a 10 MB attachment from a real server.

Starts `portal serve` (uvicorn, one process) on a loopback port with a fresh SQLite database and
encrypted local storage in a temporary directory, uploads one 10 MB PDF as the nurse, then runs
ROUNDS rounds of CONCURRENCY simultaneous downloads of it (by curl, so that the client's
own CPU use does not weigh on the server's numbers). Reports per-download latency (request
sent -> last byte read; p50/p95/max) and the server's resident memory (VmRSS) sampled before,
during and after the downloads. Every download is checked byte for byte.

    .venv/bin/python bench/download_bench.py [--port 3310] [--rounds 5] [--concurrency 20]

Results are printed and written to bench/results/download.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.closed_loop import cpu_seconds

MB = 1024 * 1024
FILE_BYTES = 10 * MB
ROOT = Path(__file__).resolve().parent.parent
PORTAL = Path(sys.executable).parent / "portal"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class RssSampler(threading.Thread):
    """Samples a process's RSS every `interval` seconds until stopped."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[float] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.samples.append(rss_mib(self.pid))
            time.sleep(self.interval)

    def stop(self) -> list[float]:
        self._done.set()
        self.join()
        return self.samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def environment(workdir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "test",
        "JWT_SECRET": "benchmark-secret-that-is-long-enough-0123456789",
        "STORAGE_ENCRYPTION_KEY": os.urandom(32).hex(),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "STORAGE_PATH": str(workdir / "storage"),
        "RATE_LIMIT_ENABLED": "false",
        "VALIDATE_RESPONSES": "false",  # production's setting
        "LOG_LEVEL": "warning",
        "PORT": str(port),
    }


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    subprocess.run([PORTAL, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([PORTAL, "db", "seed"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [PORTAL, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("server did not start")


def prepare_file(base: str) -> tuple[str, dict[str, str], str]:
    """Log in as the nurse, attach a 10 MB PDF to a record; its URL, headers and sha256."""
    login = httpx.post(
        f"{base}/api/auth/login",
        json={"email": "nurse1@example.com", "password": "portal-demo-2025"},
    ).json()
    headers = {
        "Authorization": f"Bearer {login['accessToken']}",
        "X-CSRF-Token": login["csrfToken"],
    }
    record = httpx.get(f"{base}/api/medical-records", headers=headers).json()["data"][0]
    content = b"%PDF-1.4\n" + os.urandom(FILE_BYTES - 9)
    created = httpx.post(
        f"{base}/api/medical-records/{record['id']}/attachments",
        headers=headers,
        files={"file": ("ten-megabytes.pdf", content, "application/pdf")},
        timeout=60,
    )
    created.raise_for_status()
    return base + created.json()["url"], headers, hashlib.sha256(content).hexdigest()


def download(url: str, headers: dict[str, str], sha256: str, target: Path) -> float:
    """One download by curl (so the client's own CPU use stays small), checked afterwards."""
    command = ["curl", "-s", "-o", str(target), "-w", "%{http_code} %{size_download} %{time_total}"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    status, size, seconds = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True
    ).stdout.split()
    if status != "200" or int(size) != FILE_BYTES:
        raise AssertionError(f"download answered {status} with {size} bytes")
    with target.open("rb") as stored:
        if hashlib.file_digest(stored, "sha256").hexdigest() != sha256:
            raise AssertionError("downloaded bytes differ from the uploaded file")
    target.unlink()
    return float(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3310)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        env = environment(Path(tmp), args.port)
        server = start_server(env, args.port)
        try:
            base = f"http://127.0.0.1:{args.port}"
            url, headers, sha256 = prepare_file(base)
            files = Path(tmp) / "downloads"
            files.mkdir()
            download(url, headers, sha256, files / "warm-up")  # code paths and caches
            time.sleep(1)
            before = rss_mib(server.pid)
            cpu_before = cpu_seconds(server.pid)
            sampler = RssSampler(server.pid)
            sampler.start()
            latencies: list[float] = []
            with ThreadPoolExecutor(args.concurrency) as pool:
                for _ in range(args.rounds):
                    latencies += pool.map(
                        lambda n: download(url, headers, sha256, files / str(n)),
                        range(args.concurrency),
                    )
            during = sampler.stop()
            cpu_used = cpu_seconds(server.pid) - cpu_before
            time.sleep(1)
            after = rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=10)

    result = {
        "downloads": len(latencies),
        "concurrency": args.concurrency,
        "file_mib": FILE_BYTES / MB,
        "latency_ms": {
            "p50": round(statistics.median(latencies) * 1000, 1),
            "p95": round(percentile(latencies, 0.95) * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
        },
        "server_cpu_ms_per_download": round(cpu_used * 1000 / len(latencies), 1),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "server_rss_mib": {
            "before": round(before, 1),
            "during_peak": round(max(during), 1),
            "during_median": round(statistics.median(during), 1),
            "after": round(after, 1),
        },
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / "download.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
