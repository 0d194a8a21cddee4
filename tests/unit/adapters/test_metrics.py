"""Metric names, labels and the recording functions the use cases call."""

from __future__ import annotations

import re

import pytest
from prometheus_client import REGISTRY

from adapters import metrics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_request_is_timed_per_operation_and_status() -> None:
    labels = {"operation": "listAppointments", "method": "GET", "status": "200"}
    count = sample("portal_http_request_duration_seconds_count", **labels)
    fast = sample("portal_http_request_duration_seconds_bucket", le="0.05", **labels)
    errors = sample("portal_http_errors_total", **labels)

    metrics.record_request("listAppointments", "GET", 200, 0.03)

    assert sample("portal_http_request_duration_seconds_count", **labels) == count + 1
    assert sample("portal_http_request_duration_seconds_bucket", le="0.05", **labels) == fast + 1
    assert sample("portal_http_errors_total", **labels) == errors  # a 200 is no error


def test_errors_are_counted_per_endpoint_and_status() -> None:
    labels = {"operation": "createAppointment", "method": "POST", "status": "409"}
    before = sample("portal_http_errors_total", **labels)
    metrics.record_request("createAppointment", "POST", 409, 0.01)
    metrics.record_request("createAppointment", "POST", 409, 0.01)
    assert sample("portal_http_errors_total", **labels) == before + 2


def test_requests_outside_the_spec_are_labelled_unrouted() -> None:
    labels = {"operation": metrics.UNROUTED, "method": "GET", "status": "404"}
    before = sample("portal_http_errors_total", **labels)
    metrics.record_request(None, "GET", 404, 0.001)
    assert sample("portal_http_errors_total", **labels) == before + 1


@pytest.mark.parametrize("outcome", ["success", "conflict", "rejected"])
def test_booking_outcomes_are_counted(outcome: str) -> None:
    before = sample("portal_booking_outcomes_total", outcome=outcome)
    metrics.record_booking_outcome(outcome)  # type: ignore[arg-type]
    assert sample("portal_booking_outcomes_total", outcome=outcome) == before + 1


def test_an_unknown_booking_outcome_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown booking outcome"):
        metrics.record_booking_outcome("maybe")  # type: ignore[arg-type]


def test_search_result_counts_fall_in_buckets() -> None:
    count = sample("portal_provider_search_results_count")
    empty = sample("portal_provider_search_results_bucket", le="0.0")
    metrics.record_search_results(0)
    metrics.record_search_results(7)
    assert sample("portal_provider_search_results_count") == count + 2
    assert sample("portal_provider_search_results_bucket", le="0.0") == empty + 1
    assert sample("portal_provider_search_results_sum") >= 7


def test_query_durations_are_labelled_by_kind_and_database() -> None:
    before = sample("portal_db_query_duration_seconds_count", kind="SELECT", database="replica")
    metrics.record_query("SELECT", "replica", 0.002)
    after = sample("portal_db_query_duration_seconds_count", kind="SELECT", database="replica")
    assert after == before + 1


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("SELECT users.id FROM users", "SELECT"),
        ("  insert into appointments (id) values (?)", "INSERT"),
        ("\nUPDATE refresh_tokens SET used_at=?", "UPDATE"),
        ("PRAGMA foreign_keys=ON", "OTHER"),
        ("", "OTHER"),
    ],
)
def test_statement_kind_has_bounded_values(statement: str, kind: str) -> None:
    assert metrics.statement_kind(statement) == kind


def test_render_is_prometheus_text_with_every_metric() -> None:
    metrics.record_request("getHealth", "GET", 200, 0.001)
    text = metrics.render().decode()
    assert metrics.CONTENT_TYPE.startswith("text/plain")
    for name in (
        "portal_http_request_duration_seconds",
        "portal_http_errors",
        "portal_booking_outcomes",
        "portal_provider_search_results",
        "portal_db_query_duration_seconds",
    ):
        assert re.search(rf"^# TYPE {name}(_total)? (histogram|counter)$", text, re.M), name
    assert "_created" not in text  # creation-time gauges are switched off: noise per label set
    assert 'portal_http_request_duration_seconds_bucket{le="0.005",method="GET",' in text
