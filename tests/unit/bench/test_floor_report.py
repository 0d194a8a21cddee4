"""`make bench`'s arithmetic (bench/floor.py): CPU of a process tree, ratios, the table."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.closed_loop import Endpoint, Sample, cpu_seconds, cpu_split, process_tree, summarize
from bench.floor import build_report, to_markdown


def run(name: str, cpu: float | None, unexpected: dict[str, int] | None = None) -> dict:  # type: ignore[type-arg]
    return {
        "endpoint": name, "requests": 100, "statuses": {"200": 100},
        "unexpected": unexpected or {}, "rps": 50.0, "p50_ms": 5.0, "p95_ms": 9.0,
        "cpu_ms_per_request": cpu,
    }  # fmt: skip


def test_the_cpu_of_a_tree_counts_its_children() -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    child = subprocess.Popen([sys.executable, "-c", burn + "time.sleep(30)"])
    try:
        time.sleep(1.5)
        assert child.pid in process_tree(os.getpid())
        assert cpu_seconds(child.pid) >= 0.25
        assert cpu_seconds(os.getpid()) >= cpu_seconds(child.pid)
    finally:
        child.kill()
        child.wait()


SPIN = """
import threading, time

def spin(seconds):
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass

worker = threading.Thread(target=spin, args=(0.6,))
worker.start()
worker.join()
spin(0.4)
print("done", flush=True)
time.sleep(30)
"""


def test_the_cpu_of_the_main_threads_is_told_apart_from_the_other_threads() -> None:
    child = subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "done\n"
        time.sleep(0.1)
        total, main = cpu_split(child.pid)
        assert total >= 0.9, (total, main)
        # the main thread's 0.4 s, not the worker's 0.6 s (whose thread has ended)
        assert 0.35 <= main <= total - 0.5, (total, main)
    finally:
        child.kill()
        child.wait()


def test_the_event_loops_part_never_passes_the_whole() -> None:
    """Thread and process ticks are read one after the other: a main thread that did all the
    work can be read a tick ahead of its process. The row says all of it, not more."""
    endpoint = Endpoint("bare Starlette hello", lambda _i: None)
    ahead = Sample([0.001] * 100, {200: 100}, 1.0, cpu=0.014, loop_cpu=0.015)
    behind = Sample([0.001] * 100, {200: 100}, 1.0, cpu=0.014, loop_cpu=0.011)
    assert summarize(endpoint, [ahead])["loop_cpu_ms_per_request"] == 0.14
    assert summarize(endpoint, [behind])["loop_cpu_ms_per_request"] == 0.11
    assert summarize(endpoint, [ahead, behind])["loop_cpu_ms_per_request"] == 0.13


def test_ratios_to_the_floor_and_login_listed_apart() -> None:
    report = build_report(
        [run("connexion FlaskApp hello (the floor)", 2.0), run("bare Starlette hello", 0.5)],
        [run("POST /api/auth/login", 40.0), run("GET /health", 5.0, {"500": 1})],
        {"workers": 2},
    )
    by_name = {r["endpoint"]: r for r in [*report["floor"], *report["endpoints"]]}
    assert by_name["GET /health"]["x_floor"] == 2.5
    assert by_name["bare Starlette hello"]["x_floor"] == 0.25
    table = to_markdown(report).splitlines()
    assert table[0].startswith("| endpoint | CPU ms/request | x floor | event loop ms |")
    assert table[-1].startswith("| POST /api/auth/login (argon2: apart) | 40.0 | 20.0 |")
    assert "UNEXPECTED {'500': 1}" in table[-2]
