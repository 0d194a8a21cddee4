"""Polling for a condition, the way tests wait for another process or thread (never a bare
sleep as synchronisation)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], *, timeout: float = 30, interval: float = 0.05, what: str = ""
) -> T:
    """Calls `condition` until it returns something true and returns that; TimeoutError after
    `timeout` seconds (generous by default: the machines running the tests are busy)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not within {timeout:g} s: {what or condition}")
        time.sleep(interval)
