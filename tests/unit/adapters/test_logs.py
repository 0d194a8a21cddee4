"""The JSON log format and the fields of the request line."""

from __future__ import annotations

import json
import logging
import sys

from adapters.logs import JsonFormatter
from adapters.query_metrics import log_slow_query
from portal.web.request_log import request_fields


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("portal.test", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def test_a_record_is_one_line_of_json_with_its_extra_fields() -> None:
    line = JsonFormatter().format(
        record("request %s", "done", requestId="r-1", userId="u-1", status=201, durationMs=12.5)
    )
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "request done"
    assert entry["level"] == "info"
    assert entry["logger"] == "portal.test"
    assert entry["time"].endswith("+00:00")
    assert (entry["requestId"], entry["userId"], entry["status"], entry["durationMs"]) == (
        "r-1",
        "u-1",
        201,
        12.5,
    )
    assert "exception" not in entry
    assert "args" not in entry and "msg" not in entry  # LogRecord internals stay out


def test_records_logged_while_serving_a_request_name_it_once() -> None:
    from adapters.logs import current_request_id, install_request_id_logging

    install_request_id_logging()
    logger = logging.getLogger("portal.test")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    token = current_request_id.set("req-42")
    try:
        logger.warning("inside")
    finally:
        current_request_id.reset(token)
        logger.warning("outside")
        logger.removeHandler(handler)
    inside, outside = (json.loads(JsonFormatter().format(entry)) for entry in records)
    assert inside["requestId"] == "req-42" and "request_id" not in inside
    assert "requestId" not in outside and "request_id" not in outside


def test_an_error_carries_its_stack_trace() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        entry = record("unhandled error")
        entry.exc_info = sys.exc_info()
    parsed = json.loads(JsonFormatter().format(entry))
    assert parsed["exception"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: boom" in parsed["exception"]
    assert "test_an_error_carries_its_stack_trace" in parsed["exception"]


def test_values_json_cannot_encode_are_written_as_text() -> None:
    from datetime import date

    entry = json.loads(JsonFormatter().format(record("x", day=date(2026, 11, 25))))
    assert entry["day"] == "2026-11-25"


def test_request_fields_come_from_the_scope_connexion_filled() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/appointments",
        "query_string": b"status=scheduled",
        "headers": [(b"x-request-id", b"abc123")],
        "extensions": {
            "connexion_routing": {"operation_id": "handlers.appointments.listAppointments"},
            "connexion_context": {"token_info": {"userId": "u-42", "role": "patient"}},
        },
    }
    assert request_fields(scope, 200, 0.0123) == {
        "requestId": "abc123",
        "userId": "u-42",
        "operationId": "listAppointments",
        "method": "GET",
        "path": "/api/appointments",
        "status": 200,
        "durationMs": 12.3,
    }


def test_request_fields_of_an_anonymous_unrouted_request() -> None:
    scope = {"type": "http", "method": "GET", "path": "/nope", "headers": []}
    fields = request_fields(scope, 404, 0.001)
    assert (fields["userId"], fields["operationId"], fields["requestId"]) == (None, None, None)


def test_a_slow_query_is_logged_with_its_statement_only(caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING, logger="kernel.database.slow"):
        log_slow_query("SELECT *\n  FROM appointments\n WHERE patient_id = %(p)s", "primary", 1.5)
    (entry,) = caplog.records
    assert entry.getMessage() == "slow query"
    assert entry.statement == "SELECT * FROM appointments WHERE patient_id = %(p)s"
    assert (entry.database, entry.durationMs) == ("primary", 1500.0)
    assert json.loads(JsonFormatter().format(entry))["statement"] == entry.statement
