"""The published contract is a valid OpenAPI 3 document and follows our conventions."""

from __future__ import annotations

import yaml
from openapi_spec_validator import validate

from openapi import SPEC_PATH

HTTP_METHODS = {"get", "post", "put", "delete", "patch"}


def load_spec() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(SPEC_PATH.read_text())


def operations(spec: dict):  # type: ignore[no-untyped-def,type-arg]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_spec_passes_openapi_spec_validator() -> None:
    validate(load_spec())


def test_every_operation_names_its_handler_and_error_responses() -> None:
    spec = load_spec()
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert operation.get("operationId"), where
        assert operation.get("x-openapi-router-controller", "").startswith("handlers."), where
        assert "500" in operation["responses"] or path == "/health", where


def test_only_login_refresh_and_health_are_public() -> None:
    spec = load_spec()
    public = {
        (path, method)
        for path, method, operation in operations(spec)
        if operation.get("security", spec["security"]) == []
    }
    assert public == {
        ("/health", "get"),
        ("/api/auth/login", "post"),
        ("/api/auth/refresh", "post"),
    }
