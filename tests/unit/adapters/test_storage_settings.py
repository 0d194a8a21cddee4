"""STORAGE_ENCRYPTION_KEY: formats, the development fallback, and when it is required."""

from __future__ import annotations

import base64

import pytest

from kernel.settings import DEV_STORAGE_KEY, SettingsError, load_settings

SECRET = "x" * 40
RAW = bytes(range(32))


@pytest.mark.parametrize(
    "encoded",
    [
        RAW.hex(),
        base64.b64encode(RAW).decode(),
        base64.urlsafe_b64encode(RAW).decode().rstrip("=") + "=",
    ],
)
def test_key_in_hex_or_base64(encoded):
    settings = load_settings(app_env="test", jwt_secret=SECRET, storage_encryption_key=encoded)
    assert settings.storage_key == RAW


@pytest.mark.parametrize("bad", ["short", RAW.hex()[:-2], base64.b64encode(RAW[:16]).decode()])
def test_a_key_that_is_not_32_bytes_stops_the_server(bad):
    with pytest.raises(SettingsError, match="STORAGE_ENCRYPTION_KEY"):
        load_settings(app_env="test", jwt_secret=SECRET, storage_encryption_key=bad)


@pytest.mark.parametrize("env", ["test", "production"])
def test_local_storage_needs_a_key_outside_development(env):
    with pytest.raises(SettingsError, match="STORAGE_ENCRYPTION_KEY is required"):
        load_settings(app_env=env, jwt_secret=SECRET, storage_type="local")


def test_development_falls_back_to_the_public_dev_key():
    assert load_settings(app_env="development").storage_key == DEV_STORAGE_KEY


def test_s3_may_rely_on_server_side_encryption_alone():
    settings = load_settings(app_env="test", jwt_secret=SECRET, storage_type="s3")
    assert settings.storage_key is None
