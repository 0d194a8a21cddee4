from typing import Any

import pytest
from connexion import FlaskApp
from starlette.testclient import TestClient

from portal.web import operations
from portal.web.operations import OperationDecoratedOnce

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "operations", "version": "1"},
    "paths": {
        "/items/{itemId}": {
            "get": {
                "operationId": "tests.unit.portal.web.test_operations.get_item",
                "parameters": [
                    {
                        "name": "itemId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    },
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "the item"}},
            }
        }
    },
}


def get_item(item_id: int, q: str | None = None) -> dict[str, Any]:
    return {"itemId": item_id, "q": q}


def _app() -> FlaskApp:
    app = FlaskApp(__name__)
    app.add_api(SPEC, pythonic_params=True, swagger_ui_options=None)
    operations.decorate_once(app.app)
    return app


def test_an_operation_is_decorated_once_and_each_request_gets_its_own_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = []
    decorate = operations._DecoratedOnce.decorate

    def counting(self: operations._DecoratedOnce, function: Any) -> Any:
        built.append(function)
        return decorate(self, function)

    monkeypatch.setattr(operations._DecoratedOnce, "decorate", counting)
    client = TestClient(_app())

    answers = [client.get(f"/items/{n}", params={"q": f"q{n}"}) for n in range(3)]
    answers.append(client.get("/items/7"))

    assert [a.status_code for a in answers] == [200] * 4
    assert [a.json() for a in answers] == [
        {"itemId": 0, "q": "q0"},
        {"itemId": 1, "q": "q1"},
        {"itemId": 2, "q": "q2"},
        {"itemId": 7, "q": None},
    ]
    assert len(built) == 1


def test_the_kept_operation_is_named_as_connexion_named_it() -> None:
    app = _app()
    TestClient(app).get("/items/1")  # connexion registers its operations on the first request

    views = [v for v in app.app.view_functions.values() if isinstance(v, OperationDecoratedOnce)]

    assert len(views) == 1
    # flask-limiter and the access log name an operation by these
    assert (views[0].__module__, views[0].__name__) == (__name__, "get_item")
    assert views[0].operation_id == "tests.unit.portal.web.test_operations.get_item"
