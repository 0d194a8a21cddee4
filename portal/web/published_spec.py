"""GET /api/openapi.json and /api/openapi.yaml: the committed spec as written, `$ref`s kept.

connexion would publish its resolved copy, with every `$ref` inlined: client generators then
invent one type per use instead of one per named schema. Only `servers` is rewritten, to the
origin that was asked, so Swagger UI and generated clients call this server.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any

import flask
import yaml

from openapi import SPEC_PATH

SPEC_JSON_PATH = "/api/openapi.json"
SPEC_YAML_PATH = "/api/openapi.yaml"


@lru_cache(maxsize=1)
def committed() -> dict[str, Any]:
    """The committed spec, parsed once per process."""
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return spec


def published_spec(origin: str) -> dict[str, Any]:
    spec = copy.deepcopy(committed())
    spec["servers"] = [{"url": origin, "description": "This server"}]
    return spec


def _origin() -> str:
    return flask.request.host_url.rstrip("/")


def openapi_json() -> flask.Response:
    body = json.dumps(published_spec(_origin()), default=str)  # default: YAML dates as text
    return flask.Response(body, mimetype="application/json")


def openapi_yaml() -> flask.Response:
    body = yaml.safe_dump(published_spec(_origin()), sort_keys=False, allow_unicode=True)
    return flask.Response(body, mimetype="text/yaml")


ENDPOINTS = ("openapi_json", "openapi_yaml")


def install(app: flask.Flask) -> None:
    app.add_url_rule(SPEC_JSON_PATH, ENDPOINTS[0], openapi_json, methods=["GET"])
    app.add_url_rule(SPEC_YAML_PATH, ENDPOINTS[1], openapi_yaml, methods=["GET"])
