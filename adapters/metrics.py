"""Prometheus metrics: the one place where every metric is defined and recorded.

With several worker processes each one writes its samples to PROMETHEUS_MULTIPROC_DIR (set by
`portal serve --workers N` before the workers start) and `render()` merges them, so a scrape of
`GET /metrics` on any worker sees the whole server. Without that variable the process's own
registry is served.
"""

from __future__ import annotations

import functools
import os
from typing import Literal, TypeVar

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):
    # prometheus-client opens its sample files there as metrics are created, below
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)
disable_created_metrics()  # one `_created` gauge per label set doubles a scrape for nothing
# The classic text format every Prometheus version reads; the spec names this exact type.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Buckets span the latency targets (200 ms for endpoints, 500 ms for search, 2 s for downloads)
# finely enough that p50/p95/p99 computed from them land near the 50 ms aim.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10)
QUERY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
SEARCH_RESULT_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100)

REQUEST_DURATION = Histogram(
    "portal_http_request_duration_seconds",
    "Time from request to the last byte of the response, per operationId and status.",
    ["operation", "method", "status"],
    buckets=REQUEST_BUCKETS,
)
REQUEST_ERRORS = Counter(
    "portal_http_errors",
    "Responses with status 4xx or 5xx, per operationId and status.",
    ["operation", "method", "status"],
)
BOOKING_OUTCOMES = Counter(
    "portal_booking_outcomes",
    "Booking attempts by outcome: success, conflict (slot taken) or rejected (any other refusal).",
    ["outcome"],
)
SEARCH_RESULTS = Histogram(
    "portal_provider_search_results",
    "Number of providers a provider search returned.",
    buckets=SEARCH_RESULT_BUCKETS,
)
QUERY_DURATION = Histogram(
    "portal_db_query_duration_seconds",
    "Duration of SQL statements, per statement kind and database role (primary or replica).",
    ["kind", "database"],
    buckets=QUERY_BUCKETS,
)

NOTIFICATIONS = Counter(
    "portal_notifications",
    "Outbox delivery attempts by outcome: sent, failed (to be retried), dead, skipped.",
    ["outcome"],
)
# Set by every process that delivers the outbox; they all read the same table, so the highest
# of their values is the truth (multiprocess mode "max").
NOTIFICATIONS_WAITING = Gauge(
    "portal_notifications_waiting",
    "Messages in the outbox by status (pending ones include those not due yet).",
    ["status"],
    multiprocess_mode="max",
)
NOTIFICATIONS_OLDEST_PENDING = Gauge(
    "portal_notifications_oldest_pending_seconds",
    "Age of the oldest message due and not sent yet (0 when none waits).",
    multiprocess_mode="max",
)

WAITLIST_OFFERS = Counter(
    "portal_waitlist_offers",
    "Waitlist offers by what became of them: sent, accepted, declined, expired, taken (the slot "
    "went otherwise).",
    ["outcome"],
)
# From a slot freeing (a cancellation, a reschedule away) to its booking from the waitlist.
REFILL_BUCKETS = (30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400)
WAITLIST_REFILL = Histogram(
    "portal_waitlist_refill_seconds",
    "Time from a slot freeing to a waiting patient accepting it.",
    buckets=REFILL_BUCKETS,
)
# Entries per group commit of the audit trail (`security.audit.AuditTrail.write_now`).
AUDIT_BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
AUDIT_BATCH_ENTRIES = Histogram(
    "portal_audit_batch_entries",
    "Audit entries inserted and committed together by one group commit.",
    buckets=AUDIT_BATCH_BUCKETS,
)
WAITLIST_OUTCOMES = frozenset({"sent", "accepted", "declined", "expired", "taken"})

BookingOutcome = Literal["success", "conflict", "rejected"]
BOOKING_OUTCOME_NAMES: frozenset[str] = frozenset({"success", "conflict", "rejected"})
UNROUTED = "unrouted"  # requests that matched no operation (404s, /api/ui assets)


M = TypeVar("M", Counter, Histogram)


@functools.cache
def _labelled(metric: M, *labels: str) -> M:
    """`metric.labels(*labels)`, looked up once per label set: the metrics recorded on every
    request and statement have a few label sets each, and `labels()` checks, converts and locks
    each time."""
    return metric.labels(*labels)


def record_request(operation: str | None, method: str, status: int, seconds: float) -> None:
    labels = (operation or UNROUTED, method, str(status))
    _labelled(REQUEST_DURATION, *labels).observe(seconds)
    if status >= 400:
        _labelled(REQUEST_ERRORS, *labels).inc()


def record_booking_outcome(outcome: BookingOutcome) -> None:
    """Called by the booking use case once per attempt."""
    if outcome not in BOOKING_OUTCOME_NAMES:
        raise ValueError(f"unknown booking outcome {outcome!r}")
    BOOKING_OUTCOMES.labels(outcome).inc()


def record_deliveries(sent: int, failed: int, dead: int, skipped: int) -> None:
    """Called by the outbox worker after each batch."""
    for outcome, count in (
        ("sent", sent),
        ("failed", failed),
        ("dead", dead),
        ("skipped", skipped),
    ):
        if count:
            NOTIFICATIONS.labels(outcome).inc(count)


def record_outbox(by_status: dict[str, int], oldest_pending_seconds: float) -> None:
    """Called by the outbox worker: what waits in the outbox now."""
    for status in ("pending", "sent", "skipped", "superseded", "dead"):
        NOTIFICATIONS_WAITING.labels(status).set(by_status.get(status, 0))
    NOTIFICATIONS_OLDEST_PENDING.set(oldest_pending_seconds)


def record_waitlist_offers(**counts: int) -> None:
    """Called by the waitlist's callers (handlers, the expiry pass) with how many offers were
    sent, accepted, declined, expired or taken."""
    for outcome, count in counts.items():
        if outcome not in WAITLIST_OUTCOMES:
            raise ValueError(f"unknown waitlist outcome {outcome!r}")
        if count:
            WAITLIST_OFFERS.labels(outcome).inc(count)


def record_waitlist_refill(seconds: float) -> None:
    """Called when an accepted offer books a freed slot."""
    WAITLIST_REFILL.observe(seconds)


def record_search_results(count: int) -> None:
    """Called by provider search with the total number of matching providers."""
    SEARCH_RESULTS.observe(count)


def record_audit_batch(entries: int) -> None:
    """Called after each group commit of audit entries, with how many it committed."""
    AUDIT_BATCH_ENTRIES.observe(entries)


def record_query(kind: str, database: str, seconds: float) -> None:
    _labelled(QUERY_DURATION, kind, database).observe(seconds)


@functools.lru_cache(maxsize=4096)  # statements are the app's compiled SQL: a bounded few
def statement_kind(statement: str) -> str:
    """The statement's first keyword (SELECT, INSERT, ...): a label of bounded cardinality."""
    keyword = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
    return keyword if keyword in _KNOWN_KINDS else "OTHER"


_KNOWN_KINDS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "SET"}
)


def render() -> bytes:
    """The text exposition of every metric, merged over all workers when there are several."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
