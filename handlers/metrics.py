"""GET /metrics: Prometheus text exposition for the monitoring system."""

from __future__ import annotations

import flask

from adapters import metrics


def get_metrics() -> flask.Response:
    # A ready Response keeps the exposition format's `version` parameter in Content-Type,
    # which connexion's handler-result check would compare literally with the spec's type.
    return flask.Response(
        metrics.render(), status=200, headers={"Content-Type": metrics.CONTENT_TYPE}
    )
