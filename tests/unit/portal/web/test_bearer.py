import connexion.security
import pytest

from portal.web.bearer import BearerChecks, bearer_info, metrics_token_info


def takes_everything(token: str, **extra: object) -> dict[str, str]:
    return {}


@pytest.mark.parametrize("check", [bearer_info, metrics_token_info, takes_everything])
@pytest.mark.parametrize("keyword", ["required_scopes", "request"])
def test_a_checks_keywords_are_answered_as_connexion_answers_them(check, keyword) -> None:
    expected = connexion.security.BearerSecurityHandler._accepts_kwarg(check, keyword)

    assert BearerChecks._accepts_kwarg(check, keyword) is expected
    assert expected is (check is takes_everything)


def test_a_checks_signature_is_inspected_once(monkeypatch) -> None:
    def checked(token: str, request: object) -> dict[str, str]:
        return {}

    calls = []
    inspect = connexion.security.inspect_function_arguments
    monkeypatch.setattr(
        connexion.security,
        "inspect_function_arguments",
        lambda func: calls.append(func) or inspect(func),
    )

    answers = [BearerChecks()._accepts_kwarg(checked, "request") for _ in range(3)]

    assert answers == [True, True, True]
    assert calls == [checked]
