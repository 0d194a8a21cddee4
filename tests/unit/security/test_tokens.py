"""Access tokens: claims, pinned algorithm, expiry; CSRF binding; role normalisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import time_machine

from security.identity import Identity, normalize_role
from security.passwords import hash_password, verify_password
from security.tokens import InvalidToken, TokenService, hash_refresh_token, new_refresh_token

SECRET = "unit-test-secret-" + "0123456789abcdef" * 4
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def tokens() -> TokenService:
    return TokenService(SECRET, timedelta(minutes=15))


def issue(tokens: TokenService, now: datetime = NOW, role: str = "patient") -> str:
    return tokens.issue_access_token(
        user_id="u-1", email="p@example.com", role=role, session_id="s-1", now=now
    )


def test_access_token_carries_the_plans_claims(tokens: TokenService) -> None:
    claims = jwt.decode(
        issue(tokens, role="Patient"), SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    assert {"userId", "email", "role", "iat", "exp"} <= claims.keys()
    assert claims["userId"] == "u-1"
    assert claims["role"] == "patient"  # lowercase, as the API requires
    assert claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(issue(tokens))["alg"] == "HS256"


def test_valid_token_decodes(tokens: TokenService) -> None:
    assert tokens.decode_access_token(issue(tokens, now=datetime.now(UTC)))["email"] == (
        "p@example.com"
    )


def test_expired_token_is_refused(tokens: TokenService) -> None:
    with pytest.raises(InvalidToken, match="expired"):
        tokens.decode_access_token(issue(tokens, now=datetime.now(UTC) - timedelta(minutes=16)))


def test_forged_signature_is_refused(tokens: TokenService) -> None:
    other = TokenService("another-secret-0123456789abcdef0123456", timedelta(minutes=15))
    with pytest.raises(InvalidToken):
        tokens.decode_access_token(issue(other, now=datetime.now(UTC)))


def _claims() -> dict[str, object]:
    now = int(datetime.now(UTC).timestamp())
    return {"userId": "u", "email": "e@x.io", "role": "admin", "iat": now, "exp": now + 60}


def test_alg_none_is_refused(tokens: TokenService) -> None:
    unsigned = jwt.encode(_claims(), key=None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        tokens.decode_access_token(unsigned)


def test_algorithm_cannot_be_chosen_by_the_token(tokens: TokenService) -> None:
    other_alg = jwt.encode(_claims(), SECRET, algorithm="HS512")
    with pytest.raises(InvalidToken):
        tokens.decode_access_token(other_alg)


def test_missing_required_claim_is_refused(tokens: TokenService) -> None:
    claims = _claims()
    del claims["role"]
    with pytest.raises(InvalidToken):
        tokens.decode_access_token(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_csrf_token_is_bound_to_its_session(tokens: TokenService) -> None:
    token = tokens.csrf_token("session-a")
    assert tokens.csrf_token_matches("session-a", token)
    assert not tokens.csrf_token_matches("session-b", token)
    assert not tokens.csrf_token_matches("session-a", None)
    assert not tokens.csrf_token_matches(None, token)


def test_refresh_tokens_are_random_and_stored_hashed() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second and len(first) >= 60
    assert hash_refresh_token(first) != first and len(hash_refresh_token(first)) == 64


@pytest.mark.parametrize("role", ["PATIENT", "Patient", " patient "])
def test_roles_compare_case_insensitively(role: str) -> None:
    identity = Identity.from_token_info({"userId": "u", "email": "e", "role": role})
    assert identity.role == "patient" == normalize_role(role)
    assert identity.has_role("Patient") and identity.has_any_role("DOCTOR", "patient")
    assert not identity.has_role("admin")


def test_password_hashing_round_trip() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # OWASP's argon2id parameters
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "wrong horse")
    assert not verify_password(None, "anything")
    assert not verify_password("!login-disabled", "anything")


def test_a_token_verified_before_still_expires_at_its_exp(tokens: TokenService) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        token = issue(tokens, now=NOW)
        assert tokens.decode_access_token(token)["userId"] == "u-1"  # verified, then kept
        clock.move_to(NOW + timedelta(minutes=15) - timedelta(seconds=1))
        assert tokens.decode_access_token(token)["userId"] == "u-1"
        clock.move_to(NOW + timedelta(minutes=15))  # expired at exp itself, as PyJWT says
        with pytest.raises(InvalidToken, match="expired"):
            tokens.decode_access_token(token)


def test_a_refused_token_is_refused_every_time(tokens: TokenService) -> None:
    other = TokenService("another-secret-0123456789abcdef0123456", timedelta(minutes=15))
    forged = issue(other, now=datetime.now(UTC))
    for _ in range(2):
        with pytest.raises(InvalidToken):
            tokens.decode_access_token(forged)


def test_callers_get_their_own_claims(tokens: TokenService) -> None:
    token = issue(tokens, now=datetime.now(UTC))
    tokens.decode_access_token(token)["role"] = "admin"
    assert tokens.decode_access_token(token)["role"] == "patient"
