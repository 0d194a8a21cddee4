"""A task that keeps failing (a background loop, a poll), logged once per failure episode."""

from __future__ import annotations

import logging
import threading


class FailureEpisodes:
    """Logs a task that keeps failing once per episode: one line when it starts failing (the
    error's type and message, no stack trace) and one when it works again, not one per retry."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._logger = logger
        self._what = what
        self._failures = 0
        self._lock = threading.Lock()

    @property
    def failing(self) -> bool:
        return self._failures > 0

    def failed(self, exc: BaseException, consequence: str) -> None:
        with self._lock:
            self._failures += 1
            first = self._failures == 1
        if first:
            message = str(exc).splitlines()[0] if str(exc) else ""
            self._logger.error(
                "%s failed (%s: %s); %s; retrying quietly until it works again",
                self._what,
                type(exc).__name__,
                message[:300],
                consequence,
            )

    def succeeded(self) -> None:
        with self._lock:
            failures, self._failures = self._failures, 0
        if failures:
            self._logger.warning("%s works again after %d failed attempts", self._what, failures)
