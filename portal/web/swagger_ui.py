"""Swagger UI at /api/ui/: connexion renders our page (`swagger_ui/index.j2`: the session's
CSRF token sent on writes, no fixed request id), its script and styles come from the
swagger-ui-bundle package at /api/ui-assets/."""

from __future__ import annotations

from pathlib import Path

import flask
from swagger_ui_bundle import swagger_ui_path

TEMPLATE_DIR = Path(__file__).parent / "swagger_ui"
ASSETS_PATH = "/api/ui-assets"
ENDPOINT = "swagger_ui_assets"


def asset(name: str) -> flask.Response:
    return flask.send_from_directory(swagger_ui_path, name, max_age=86400)


def install(app: flask.Flask) -> None:
    app.add_url_rule(f"{ASSETS_PATH}/<path:name>", ENDPOINT, asset, methods=["GET"])
