"""Every audited operation of the spec (`x-audit`), called through HTTP so that it succeeds,
is refused and fails, leaves one audit entry naming the resource and the patient whose data it
is. The kinds of call an operation needs come from its declared answers (a 403: a refusal; a
404, 409 or 422, or a 401 on a public operation: a failure); an operation of the spec without
its scenarios (tests/integration/audit/scenarios.py) fails here, so none can slip by."""

from __future__ import annotations

import re
import uuid

import pytest
import time_machine

from portal.runtime import Services
from tests.integration.audit.scenarios import CREATED, SCENARIOS, UNREACHABLE
from tests.integration.audit.world import World
from tests.support.appointments import NOON
from tests.support.audit import audit_entries
from tests.support.spec import operations

FAILURES = {"404", "409", "422"}


def kinds_of(operation: dict) -> list[str]:  # type: ignore[type-arg]
    """The calls the operation's declared answers call for."""
    declared = set(operation["responses"])
    public = operation.get("security") == []
    kinds = ["success"]
    if "403" in declared:
        kinds.append("denied")
    if declared & FAILURES or (public and "401" in declared):
        kinds.append("failure")
    return [k for k in kinds if (operation["operationId"], k) not in UNREACHABLE]


AUDITED = [(path, method, op) for path, method, op in operations() if op.get("x-audit")]
CASES = [
    pytest.param(path, method, op, kind, id=f"{op['operationId']}-{kind}")
    for path, method, op in AUDITED
    for kind in kinds_of(op)
]


def test_the_walk_covers_every_audited_operation_and_nothing_else():
    assert len(AUDITED) >= 40
    assert {op["operationId"] for _, _, op in AUDITED} == set(SCENARIOS)
    for _, _, op in AUDITED:
        missing = set(kinds_of(op)) - set(SCENARIOS[op["operationId"]])
        assert not missing, f"add the {sorted(missing)} scenario(s) of {op['operationId']}"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.mark.parametrize("path, method, operation, kind", CASES)
def test_the_entry_names_the_resource_and_the_patient(
    client, services: Services, auth, path, method, operation, kind
):
    operation_id = operation["operationId"]
    scenario = SCENARIOS.get(operation_id, {}).get(kind)
    assert scenario is not None, f"add a {kind} scenario for {operation_id}"
    world = World.build(services, client, auth)
    call = scenario(world)
    url = re.sub(r"\{([^}]+)\}", lambda m: call.params[m.group(1)], path)
    request_id = f"walk-{uuid.uuid4().hex}"
    with time_machine.travel(call.at or NOON, tick=False):
        if call.prepare:
            call.prepare()
        headers = {"X-Request-ID": request_id}
        if call.who:
            headers.update(world.headers(call.who))
        response = client.request(method.upper(), url, headers=headers, **call.request)

    expected_status = {"success": range(200, 300), "denied": (403,)}.get(kind)
    if expected_status is None:
        # a 400 too, when the handler's rules refuse the input (a wrong password)
        assert 400 <= response.status_code < 500 and response.status_code != 403, response.text
    else:
        assert response.status_code in expected_status, response.text
    [entry] = audit_entries(services, request_id=request_id)
    assert entry.action == operation["x-audit"]["action"]
    assert entry.resource == operation["x-audit"]["resource"]
    assert entry.status == {"success": "success", "denied": "denied"}.get(kind, "failure")
    resource_id = response.json()["id"] if call.resource_id is CREATED else call.resource_id
    assert (entry.resource_id, entry.subject) == (resource_id, call.subject)
    if call.who:
        assert entry.user_id == str(auth.user(world.emails[call.who]).id)
