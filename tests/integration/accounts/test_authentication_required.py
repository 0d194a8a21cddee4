"""Every /api operation except login and refresh refuses a request without a valid token."""

from __future__ import annotations

import re
import uuid

import pytest
import yaml

from openapi import SPEC_PATH

SPEC = yaml.safe_load(SPEC_PATH.read_text())
PROTECTED = [
    (method, path)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
    if method in {"get", "post", "put", "delete"}
    and operation.get("security", SPEC["security"]) != []
]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def test_the_protected_list_covers_every_api_operation_but_login_and_refresh() -> None:
    api_operations = {
        (method, path)
        for path, item in SPEC["paths"].items()
        for method in item
        if path.startswith("/api/") and method in {"get", "post", "put", "delete"}
    }
    assert api_operations - set(PROTECTED) == {
        ("post", "/api/auth/login"),
        ("post", "/api/auth/refresh"),
    }


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_no_token_is_401(client, method: str, path: str) -> None:
    response = client.request(method.upper(), concrete(path), json={})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "AUTHENTICATION_ERROR"
