"""GET /health for load balancers."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from kernel.database import Database
from portal.runtime import Services
from portal.web.app import create_app


def test_health_reports_ok_with_a_live_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_is_503_when_the_database_does_not_answer(services: Services):
    dead = Database(sa.create_engine("mysql+pymysql://nobody@127.0.0.1:1/none"))
    broken = dataclasses.replace(services, db=dead)
    response = create_app(services.settings, broken).test_client().get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "unavailable"}


def test_liveness_answers_without_asking_the_database(services: Services):
    dead = Database(sa.create_engine("mysql+pymysql://nobody@127.0.0.1:1/none"))
    broken = dataclasses.replace(services, db=dead)
    client = create_app(services.settings, broken).test_client()
    response = client.get("/health", params={"probe": "liveness"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "unchecked"}
    assert client.get("/health", params={"probe": "readiness"}).status_code == 503


def test_an_unknown_probe_is_a_validation_error(client):
    response = client.get("/health", params={"probe": "startup"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
