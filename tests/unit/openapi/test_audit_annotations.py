"""Every operation in the spec says whether it is audited; every PHI operation is; an audited
operation whose path names a resource says which path parameter is the resource's id."""

from __future__ import annotations

import re

import pytest

from tests.support.spec import operations, phi_operations

ACTION = re.compile(r"^[A-Z][A-Z_]*[A-Z]$")


@pytest.mark.parametrize("path, method, operation", list(operations()))
def test_every_operation_carries_an_x_audit_annotation(path, method, operation):
    assert "x-audit" in operation, f"{method.upper()} {path} has no x-audit (use false to opt out)"
    annotation = operation["x-audit"]
    if annotation is not False:
        assert {"action", "resource"} <= set(annotation) <= {"action", "resource", "resourceId"}
        assert ACTION.match(annotation["action"])


AUDITED = [
    pytest.param(path, method, operation, id=operation["operationId"])
    for path, method, operation in operations()
    if operation.get("x-audit")
]


@pytest.mark.parametrize("path, method, operation", AUDITED)
def test_the_resource_id_is_a_path_parameter_and_every_path_parameter_is_named(
    path, method, operation
):
    """The entry's resourceId is read from the path parameter the annotation names: it must be
    one of the path's, and a path with parameters must name one (its last, the resource the
    operation acts on), so no entry of it has a null resource."""
    in_path = re.findall(r"\{([^}]+)\}", path)
    named = operation["x-audit"].get("resourceId")
    if not in_path:
        assert named is None, f"{method.upper()} {path} has no path parameter {named}"
    else:
        assert named == in_path[-1], f"{method.upper()} {path}: resourceId: {in_path[-1]}"


def test_every_phi_operation_is_audited():
    phi = phi_operations()
    assert len(phi) >= 12
    unaudited = [f"{m.upper()} {p}" for p, m, op in phi if not op.get("x-audit")]
    assert unaudited == []


def test_actions_name_one_operation_each():
    actions = [op["x-audit"]["action"] for _, _, op in operations() if op.get("x-audit")]
    assert len(actions) == len(set(actions))


def test_downloads_and_logins_have_the_plan_s_action_names():
    by_id = {op["operationId"]: op.get("x-audit") for _, _, op in operations()}
    assert by_id["downloadAttachment"]["action"] == "DOWNLOAD_ATTACHMENT"
    assert by_id["createAppointment"]["action"] == "CREATE_APPOINTMENT"
    assert by_id["login"]["action"] == "LOGIN"
