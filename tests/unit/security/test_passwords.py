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
