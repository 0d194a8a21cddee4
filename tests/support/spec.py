"""The spec's operations, for tests that walk it."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import yaml

from openapi import SPEC_PATH

METHODS = ("get", "post", "put", "patch", "delete")
# Tags whose operations read or change protected health information (or the audit trail).
PHI_TAGS = {"appointments", "medical-records", "consents", "admin", "waitlist"}


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec()["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def phi_operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [op for op in operations() if PHI_TAGS & set(op[2].get("tags", []))]


@cache
def resolved() -> dict[str, Any]:
    """The spec with every `$ref` replaced by what it names (connexion's own resolution)."""
    from connexion.spec import Specification

    return Specification.load(SPEC_PATH).spec  # type: ignore[no-any-return]


def request_header_names() -> set[str]:
    """Every header parameter the spec declares, on a path or on an operation."""
    names = set()
    for item in resolved()["paths"].values():
        holders = [item, *(item[method] for method in METHODS if method in item)]
        for holder in holders:
            names |= {p["name"] for p in holder.get("parameters", []) if p["in"] == "header"}
    return names


def response_header_names() -> set[str]:
    """Every header the spec documents on a response."""
    return {
        name
        for item in resolved()["paths"].values()
        for method in METHODS
        for response in item.get(method, {}).get("responses", {}).values()
        for name in response.get("headers", {})
    }
