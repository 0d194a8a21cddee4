"""The outbox worker: delivers due notifications, batch after batch, then waits a poll interval.

`portal worker` runs one in the foreground; with NOTIFICATION_WORKER=inline each `portal serve`
process runs one in a daemon thread (development's default, so `make run` sends its mail). Any
number of them may run on any number of hosts: each batch is claimed under a lease
(`models.notifications.use_cases.deliver_due`). A failing step is logged once when the failure
starts and once when it ends, never every poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from adapters import metrics
from adapters.mail import Mailer
from kernel.clock import Clock, utcnow
from kernel.database import Database
from kernel.episodes import FailureEpisodes
from models.notifications.use_cases import DeliveryReport, OutboxPolicy, deliver_due, outbox_stats
from models.waitlist.use_cases import PassReport, expire_and_refill
from portal.runtime.services import Services

logger = logging.getLogger("portal.notifications")


WaitlistPass = Callable[[], PassReport]


def waitlist_pass(services: Services) -> WaitlistPass:
    """The waitlist's expiry pass on these services, at the clinic's clock of each call."""

    def run() -> PassReport:
        clock = Clock.at_clinic(services.settings.clinic_zone)
        return expire_and_refill(services.db, clock, services.waitlist, services.outbox)

    return run


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        mailer: Mailer,
        policy: OutboxPolicy,
        poll_seconds: float,
        waitlist: WaitlistPass | None = None,
    ) -> None:
        self.db, self.mailer, self.policy = db, mailer, policy
        self.poll_seconds = poll_seconds
        self.waitlist = waitlist
        self._waitlist_episodes = FailureEpisodes(logger, "waitlist: the expiry pass")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._episodes = FailureEpisodes(logger, "notifications: delivering the outbox")
        self._mail_failing = False

    def run_once(self) -> DeliveryReport:
        """Deliver every message due now (batch after batch); report the last batch's counts
        summed over all of them."""
        self._refill_waitlist()
        total = DeliveryReport()
        while not self._stopping.is_set():
            report = deliver_due(self.db, self.mailer, self.policy, utcnow())
            for name in ("sent", "failed", "dead", "skipped"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.errors += report.errors
            metrics.record_deliveries(report.sent, report.failed, report.dead, report.skipped)
            if report.handled == 0 or report.failed or report.dead:
                break  # nothing more due, or the mail server is failing: wait a poll
        self._observe(total)
        return total

    def _refill_waitlist(self) -> None:
        """The expiry pass; its failure is logged once per episode and does not stop delivery."""
        if self.waitlist is None:
            return
        try:
            report = self.waitlist()
        except Exception as exc:
            self._waitlist_episodes.failed(exc, "offers wait for the next pass")
            return
        self._waitlist_episodes.succeeded()
        metrics.record_waitlist_offers(sent=report.sent, expired=report.expired, taken=report.taken)

    def _observe(self, report: DeliveryReport) -> None:
        if report.errors and not self._mail_failing:
            logger.warning("notifications: the mail server fails (%s); retrying", report.errors[0])
        elif report.sent and self._mail_failing:
            logger.info("notifications: the mail server accepts messages again")
        if report.errors or report.sent:
            self._mail_failing = bool(report.errors) and not report.sent
        now = utcnow()
        stats = outbox_stats(self.db, now)
        oldest = (now - stats.oldest_pending).total_seconds() if stats.oldest_pending else 0.0
        metrics.record_outbox(stats.by_status, max(oldest, 0.0))

    def tick(self) -> None:
        """One round, its failures logged once per episode (the database down, say)."""
        try:
            self.run_once()
        except Exception as exc:
            self._episodes.failed(exc, "messages wait in the outbox")
        else:
            self._episodes.succeeded()

    def run_forever(self) -> None:
        while not self._stopping.is_set():
            self.tick()
            self._stopping.wait(self.poll_seconds)

    def start(self) -> OutboxWorker:
        self._thread = threading.Thread(target=self.run_forever, name="outbox-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
