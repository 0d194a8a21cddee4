"""Every operation of the published spec is complete enough for a generated client: a new
operation added without a full entry fails here (and so `make test` and `make contract`)."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from openapi import SPEC_PATH

HTTP_METHODS = {"get", "post", "put", "delete", "patch", "head", "options"}
WRITE_METHODS = {"post", "put", "delete", "patch"}
NO_BODY_STATUSES = {"204", "304"}
ERROR_SCHEMA = "#/components/schemas/ErrorResponse"
# (operationId, status) whose non-2xx body is not the standard error, on purpose.
NOT_ERROR_BODIES = {("getHealth", "503")}  # the load balancer's health report, degraded
PUBLIC_OPERATIONS = {"getHealth", "login", "refresh"}
# Operations that never wait on the database or Redis, so never answer 503. Every other one can:
# the bearer check asks the database while Redis is away, and every audited answer is written.
NEVER_UNAVAILABLE = {"getMetrics"}  # the process's own counters, behind a static token


def load_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow a local `$ref` (any depth) to the node it names."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _parameters(spec: dict[str, Any], item: dict[str, Any], operation: dict[str, Any]):  # type: ignore[no-untyped-def]
    return [resolve(spec, p) for p in item.get("parameters", []) + operation.get("parameters", [])]


def _response_problems(
    spec: dict[str, Any], op_id: str, status: str, response: Any, where: str
) -> list[str]:
    raw, response = response, resolve(spec, response)
    problems = [] if response.get("description") else [f"{where} {status}: no description"]
    content = response.get("content") or {}
    if status in NO_BODY_STATUSES:
        return problems + ([f"{where} {status}: must have no body"] if content else [])
    if not content:
        return [*problems, f"{where} {status}: no body schema (only 204/304 may be empty)"]
    for media_type, media in content.items():
        if "schema" not in media:
            problems.append(f"{where} {status} {media_type}: no schema")
    if status[0] in "45" and (op_id, status) not in NOT_ERROR_BODIES:
        json_schema = (content.get("application/json") or {}).get("schema", {})
        if json_schema.get("$ref") != ERROR_SCHEMA:
            problems.append(f"{where} {status}: error body must be the ErrorResponse schema")
        if not isinstance(raw, dict) or "$ref" not in raw:
            problems.append(f"{where} {status}: use a shared components/responses entry")
    return problems


def operation_problems(spec: dict[str, Any]) -> list[str]:
    """Everything missing from the spec's operations, one line each; [] when complete."""
    problems: list[str] = []
    declared_tags = {tag["name"] for tag in spec.get("tags", [])}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            op_id = operation.get("operationId", "")
            for key in ("operationId", "summary", "tags", "x-openapi-router-controller"):
                if not operation.get(key):
                    problems.append(f"{where}: no {key}")
            problems += [
                f"{where}: tag {t!r} not declared" for t in operation.get("tags", [])
                if t not in declared_tags
            ]  # fmt: skip
            responses = operation.get("responses", {})
            statuses = set(responses)
            if not any(s.startswith("2") or s == "304" for s in statuses):
                problems.append(f"{where}: no success response")

            security = operation.get("security", spec.get("security"))
            public = security == []
            if public != (op_id in PUBLIC_OPERATIONS):
                problems.append(f"{where}: security decision is not the intended one")
            if not public and "401" not in statuses:
                problems.append(f"{where}: authenticated but 401 undocumented")
            # the rate limiter, strict validation (unknown query parameters) and bugs reach
            # every operation
            problems += [
                f"{where}: {s} undocumented" for s in ("400", "429", "500") if s not in statuses
            ]
            if "503" not in statuses and op_id not in NEVER_UNAVAILABLE:
                problems.append(f"{where}: 503 undocumented (it needs the database or Redis)")

            parameters = _parameters(spec, item, operation)
            names = {(p.get("in"), p.get("name")) for p in parameters}
            if ("header", "X-Request-ID") not in names:
                problems.append(f"{where}: X-Request-ID header not declared")
            if method in WRITE_METHODS and not public:
                if ("header", "X-CSRF-Token") not in names:
                    problems.append(f"{where}: a write without the X-CSRF-Token parameter")
                if "403" not in statuses:
                    problems.append(f"{where}: a CSRF-checked write without 403")
            for parameter in parameters:
                if "schema" not in parameter or not parameter.get("name"):
                    problems.append(f"{where}: parameter {parameter.get('name')!r} has no schema")
                if parameter.get("in") == "path" and not parameter.get("required"):
                    problems.append(f"{where}: path parameter {parameter['name']} not required")
            body = resolve(spec, operation.get("requestBody", {}))
            for media_type, media in (body.get("content") or {}).items():
                if "schema" not in media:
                    problems.append(f"{where}: request body {media_type} has no schema")
            for status, response in responses.items():
                problems += _response_problems(spec, op_id, status, response, where)
    return problems


def schema_problems(spec: dict[str, Any]) -> list[str]:
    """Object schemas say deliberately whether they take extra properties."""
    return [
        f"components/schemas/{name}: additionalProperties not set"
        for name, schema in spec["components"]["schemas"].items()
        if schema.get("type") == "object" and "additionalProperties" not in schema
    ]


def test_every_operation_has_a_complete_entry() -> None:
    assert operation_problems(load_spec()) == []


def test_every_object_schema_sets_additional_properties() -> None:
    assert schema_problems(load_spec()) == []


def test_an_incomplete_new_operation_is_caught() -> None:
    spec = copy.deepcopy(load_spec())
    spec["paths"]["/api/appointments/{id}/check-in"] = {
        "post": {
            "operationId": "checkIn",
            "parameters": [{"name": "id", "in": "path"}],
            "responses": {"200": {"description": "ok"}, "404": {"description": "missing"}},
        }
    }
    spec["paths"]["/api/auth/me"]["get"]["responses"]["401"] = {
        "description": "inline, not the shared one",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    problems = [p for p in operation_problems(spec) if "check-in" in p or "/me" in p]
    for expected in (
        "no summary",
        "no tags",
        "no x-openapi-router-controller",
        "401 undocumented",
        "500 undocumented",
        "503 undocumented",
        "X-Request-ID header not declared",
        "without the X-CSRF-Token parameter",
        "parameter 'id' has no schema",
        "path parameter id not required",
        "200: no body schema",
        "404: no body schema",
        "401: error body must be the ErrorResponse schema",
        "401: use a shared components/responses entry",
    ):
        assert any(expected in p for p in problems), (expected, problems)


def test_an_undeclared_public_operation_is_caught() -> None:
    spec = copy.deepcopy(load_spec())
    spec["paths"]["/api/auth/me"]["get"]["security"] = []
    assert any("GET /api/auth/me: security decision" in p for p in operation_problems(spec)), (
        operation_problems(spec)
    )
