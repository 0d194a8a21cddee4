"""The response bodies' encoder: the JSON connexion's own would give, without its spaces."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import flask
from connexion.frameworks.flask import FlaskJSONProvider
from connexion.jsonifier import Jsonifier

from portal.web.app import OrjsonBodies


def _before(data: object) -> str:
    """What the app encoded before: connexion's jsonifier through Flask's provider, compact."""
    app = flask.Flask(__name__)
    app.json = FlaskJSONProvider(app)
    with app.app_context():
        return Jsonifier(flask.json, separators=(",", ":")).dumps(data)


def test_the_same_values_as_before_for_every_type_a_body_holds() -> None:
    data = {
        "text": "Zoë <b>&</b> \u2028",
        "n": 3,
        "x": 1.5,
        "none": None,
        "flag": True,
        "list": [1, "a", {"nested": []}],
        "naive": datetime(2026, 12, 1, 9, 30, 0, 123456),
        "aware": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        "day": date(2026, 12, 1),
        "amount": Decimal("12.50"),
        "id": UUID("12345678-1234-5678-1234-567812345678"),
    }
    encoded = OrjsonBodies().dumps(data)
    assert isinstance(encoded, bytes)
    assert encoded.endswith(b"\n")
    assert json.loads(encoded) == json.loads(_before(data))
    assert json.loads(encoded)["naive"] == "2026-12-01T09:30:00.123456Z"
    assert (
        OrjsonBodies().dumps({7: "a key that is not text"})
        == _before({7: "a key that is not text"}).encode()
    )


def test_text_with_a_lone_surrogate_is_escaped_as_before() -> None:
    data = {"userAgent": "agent \ud800 end"}
    assert OrjsonBodies().dumps(data) == _before(data).encode()
    assert b"\\ud800" in OrjsonBodies().dumps(data)


def test_keys_keep_the_order_the_handler_built_and_no_spaces() -> None:
    assert OrjsonBodies().dumps({"data": [], "pagination": {"page": 1}}) == (
        b'{"data":[],"pagination":{"page":1}}\n'
    )
