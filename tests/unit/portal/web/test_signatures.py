import inspect

from portal.web.bearer import bearer_info, metrics_token_info
from portal.web.signatures import with_signature_once


def handler(user_id: str, page: int = 1, **extra: object) -> None:
    """A handler as connexion sees one."""


def test_the_kept_signature_is_the_functions_own() -> None:
    expected = inspect.signature(handler)

    kept = with_signature_once(handler)

    assert kept is handler
    assert vars(handler)["__signature__"] == expected
    assert inspect.signature(handler) is vars(handler)["__signature__"]
    assert list(inspect.signature(handler).parameters) == ["user_id", "page", "extra"]


def test_a_signature_already_kept_is_not_replaced() -> None:
    def other(a: int) -> None: ...

    other.__signature__ = inspect.Signature()  # type: ignore[attr-defined]

    with_signature_once(other)

    assert inspect.signature(other) == inspect.Signature()


def test_the_bearer_checks_keep_theirs() -> None:
    assert list(inspect.signature(bearer_info).parameters) == ["token"]
    assert list(inspect.signature(metrics_token_info).parameters) == ["token"]
    assert inspect.iscoroutinefunction(bearer_info)
