"""AES-GCM sealing of PHI values: keys, key ids, associated data, tampering, settings."""

from __future__ import annotations

import base64

import pytest

from kernel.settings import SettingsError, load_settings
from security.phi import Keyring, PhiDecryptionError, PhiKeyError, generate_key, key_id_of

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()
CONTEXT = "appointments.reason"


def test_the_first_key_is_current_and_values_round_trip():
    ring = Keyring.parse(f"k1:{KEY_A}, k0:{KEY_B}")
    assert ring.current_id == "k1"
    sealed = ring.encrypt("Persistent lower back pain", CONTEXT)
    assert sealed.startswith("v1:k1:")
    assert "back pain" not in sealed
    assert key_id_of(sealed) == "k1"
    assert ring.decrypt(sealed, CONTEXT) == "Persistent lower back pain"


def test_every_seal_uses_a_fresh_nonce():
    ring = Keyring.parse(f"k1:{KEY_A}")
    assert ring.encrypt("same text", CONTEXT) != ring.encrypt("same text", CONTEXT)


def test_an_old_key_still_decrypts_after_rotation():
    old = Keyring.parse(f"k0:{KEY_B}")
    sealed = old.encrypt("Follow-up on blood pressure", CONTEXT)
    rotated = Keyring.parse(f"k1:{KEY_A},k0:{KEY_B}")
    assert rotated.decrypt(sealed, CONTEXT) == "Follow-up on blood pressure"
    with pytest.raises(PhiKeyError, match="k0"):
        Keyring.parse(f"k1:{KEY_A}").decrypt(sealed, CONTEXT)


def test_a_value_moved_to_another_column_does_not_decrypt():
    ring = Keyring.parse(f"k1:{KEY_A}")
    sealed = ring.encrypt("secret", "appointments.notes")
    with pytest.raises(PhiDecryptionError):
        ring.decrypt(sealed, "medical_records.description")


def test_an_altered_ciphertext_does_not_decrypt():
    ring = Keyring.parse(f"k1:{KEY_A}")
    prefix, kid, payload = ring.encrypt("secret", CONTEXT).split(":")
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 1
    with pytest.raises(PhiDecryptionError):
        ring.decrypt(f"{prefix}:{kid}:{base64.b64encode(raw).decode()}", CONTEXT)


def test_values_written_before_encryption_read_as_they_are():
    assert Keyring.parse(f"k1:{KEY_A}").decrypt("plain old text", CONTEXT) == "plain old text"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "no key"),
        ("k1", "id:base64key"),
        ("k1:not base64!", "base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes"),
        (f"k1:{KEY_A},k1:{KEY_B}", "twice"),
        (f"bad id:{KEY_A}", "id:base64key"),
    ],
)
def test_malformed_keys_are_refused(text: str, problem: str):
    with pytest.raises(PhiKeyError, match=problem):
        Keyring.parse(text)


def test_generated_keys_parse():
    assert Keyring.parse(f"new:{generate_key()}").current_id == "new"


def test_production_requires_phi_keys():
    secret = "x" * 40
    with pytest.raises(SettingsError, match="PHI_ENCRYPTION_KEYS"):
        load_settings(app_env="production", jwt_secret=secret, phi_encryption_keys=None)
    settings = load_settings(
        app_env="production",
        jwt_secret=secret,
        phi_encryption_keys=f"k1:{KEY_A}",
        storage_encryption_key=bytes(range(32)).hex(),
        audit_chain_key="c" * 40,
        audit_checkpoint="s3://audit-bucket/checkpoints",
    )
    assert settings.phi_encryption_keys == f"k1:{KEY_A}"


def test_malformed_phi_keys_stop_the_server_at_start():
    with pytest.raises(SettingsError, match=r"PHI_ENCRYPTION_KEYS.*32 bytes"):
        load_settings(phi_encryption_keys="k1:YWJj")
