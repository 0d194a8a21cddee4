"""Every operation in the spec says whether it is audited; every PHI operation is."""

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
        assert set(annotation) == {"action", "resource"}, f"{method.upper()} {path}"
        assert ACTION.match(annotation["action"])


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
