"""Background work each server process runs beside its requests (sealing the audit chain)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kernel.episodes import FailureEpisodes

logger = logging.getLogger("portal.audit")


class Sealer:
    """Seals the chain every `interval` seconds in a daemon thread, and once more on `stop`.

    Each server process runs one; their seals queue on the head lock and each finds the
    entries the previous one left. A failed seal is retried at the next tick (unsealed entries
    wait, none is lost) and logged once per episode: one line when sealing starts failing, one
    when it works again, not a stack trace every tick.
    """

    def __init__(self, seal_now: Callable[[], int], interval: float) -> None:
        self._seal_now = seal_now
        self._interval = interval
        self._stopping = threading.Event()
        self._episodes = FailureEpisodes(logger, "sealing the audit chain")
        self._thread = threading.Thread(target=self._loop, name="audit-sealer", daemon=True)

    def start(self) -> Sealer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)
        self._tick()

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval):
            self._tick()

    def _tick(self) -> None:
        try:
            self._seal_now()
        except Exception as exc:
            self._episodes.failed(exc, "the entries wait for the next seal")
        else:
            self._episodes.succeeded()
