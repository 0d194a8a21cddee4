"""The framework floor of `make bench`: two one-operation apps served by uvicorn like ours.

- `connexion_app`: a connexion FlaskApp with one spec-described GET answering a small JSON body
  (routing, parameter and response handling of connexion, Flask's request context): what every
  endpoint of ours pays before our own code runs;
- `starlette_app`: bare Starlette answering the same body (uvicorn and ASGI alone).

    uvicorn bench.floor_apps:connexion_app --workers 2
"""

from __future__ import annotations

from typing import Any

from connexion import FlaskApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

HELLO = {"hello": "world"}
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "floor", "version": "1"},
    "paths": {
        "/hello": {
            "get": {
                "operationId": "bench.floor_apps.hello",
                "responses": {
                    "200": {
                        "description": "hello",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"hello": {"type": "string"}},
                                }
                            }
                        },
                    }
                },
            }
        }
    },
}


def hello() -> dict[str, str]:
    return HELLO


async def _starlette_hello(_request: Request) -> JSONResponse:
    return JSONResponse(HELLO)


def build_connexion_app() -> FlaskApp:
    app = FlaskApp(__name__)
    app.add_api(SPEC, swagger_ui_options=None)
    return app


connexion_app = build_connexion_app()
starlette_app = Starlette(routes=[Route("/hello", _starlette_hello)])
