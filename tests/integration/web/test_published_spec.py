"""The server publishes the committed spec as written ($refs kept) and Swagger UI reads it."""

from __future__ import annotations

import yaml

from openapi import SPEC_PATH

COMMITTED = yaml.safe_load(SPEC_PATH.read_text())


def _same_as_committed(published: dict) -> None:  # type: ignore[type-arg]
    assert published.keys() == COMMITTED.keys()
    for key in COMMITTED.keys() - {"servers"}:
        assert published[key] == COMMITTED[key], key
    # only the server list changes: to the origin that asked
    assert published["servers"] == [{"url": "http://testserver", "description": "This server"}]


def test_json_spec_is_the_committed_one_with_refs_kept(client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    published = response.json()
    _same_as_committed(published)
    login = published["paths"]["/api/auth/login"]["post"]
    assert login["responses"]["401"] == {"$ref": "#/components/responses/Unauthenticated"}


def test_yaml_spec_is_the_committed_one(client) -> None:
    response = client.get("/api/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/yaml")
    _same_as_committed(yaml.safe_load(response.text))


def test_swagger_ui_reads_the_published_spec(client) -> None:
    response = client.get("/api/ui/")
    assert response.status_code == 200
    assert "/api/openapi.json" in response.text
