"""argon2id hashing: verification outcomes and the per-process bound on concurrent hashes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from security import passwords


def test_a_hash_verifies_its_password_only() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse battery!")
    assert not passwords.verify_password(None, "correct horse battery")  # unknown email
    assert not passwords.verify_password("not-an-argon2-hash", "correct horse battery")


class SlowHasher:
    """Stands in for argon2: takes a while and records how many calls overlap."""

    def __init__(self) -> None:
        self.active = 0
        self.most = 0
        self._lock = threading.Lock()

    def _work(self) -> None:
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.05)
        with self._lock:
            self.active -= 1

    def verify(self, _hash: str, _password: str) -> bool:
        self._work()
        return True

    def hash(self, _password: str) -> str:
        self._work()
        return "hashed"


@pytest.fixture
def slow_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowHasher]:
    fake = SlowHasher()
    monkeypatch.setattr(passwords, "_hasher", fake)
    yield fake
    passwords.allow_concurrent_hashes(1)


def run_at_once(work, count: int = 4) -> None:  # type: ignore[no-untyped-def]
    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.parametrize("bound", [1, 2])
def test_no_more_hashes_run_at_once_than_allowed(slow_hasher: SlowHasher, bound: int) -> None:
    passwords.allow_concurrent_hashes(bound)
    run_at_once(lambda: passwords.verify_password("stored", "password"))
    assert slow_hasher.most == bound
    slow_hasher.most = 0
    run_at_once(lambda: passwords.hash_password("password"))
    assert slow_hasher.most == bound


@pytest.mark.parametrize(
    "new, problem",
    [
        ("short-pass1", "12 to 256 characters"),
        ("x" * 257, "12 to 256 characters"),
        ("portal-demo-2025", "differ from the current one"),
        ("my-Patient1-password", "email name"),
        ("abababababababab", "4 different characters"),
    ],
)
def test_a_new_password_breaking_a_rule_is_refused_with_the_rule(new: str, problem: str) -> None:
    problems = passwords.password_problems(
        new, current="portal-demo-2025", email="patient1@example.com"
    )
    assert any(problem in text for text in problems), problems


def test_a_long_new_password_passes() -> None:
    assert (
        passwords.password_problems(
            "a-longer-passphrase-2026", current="portal-demo-2025", email="patient1@example.com"
        )
        == []
    )
