"""The spec's operations, for tests that walk it."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import yaml

from openapi import SPEC_PATH

METHODS = ("get", "post", "put", "patch", "delete")
# Tags whose operations read or change protected health information (or the audit trail).
PHI_TAGS = {"appointments", "medical-records", "consents", "admin"}


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
