"""Settings from the environment: defaults, parsing, and refusing unsafe production configs."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from kernel.settings import SettingsError, load_settings, parse_duration

LONG_SECRET = "x" * 40
AUDIT_CHAIN = {"audit_chain_key": "c" * 40, "audit_checkpoint": "s3://audit-bucket/checkpoints"}
PHI_KEYS = "k1:" + base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("7d", timedelta(days=7)),
        ("900", timedelta(seconds=900)),
        ("3600s", timedelta(hours=1)),
        ("2h", timedelta(hours=2)),
        ("1500ms", timedelta(seconds=1.5)),
    ],
)
def test_durations_accept_the_plans_notation(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_bad_duration_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_EXPIRATION", "fifteen minutes")
    with pytest.raises(SettingsError, match="JWT_EXPIRATION"):
        load_settings()


def test_development_defaults_run_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("NODE_ENV", raising=False)
    settings = load_settings()
    assert settings.app_env == "development"
    assert settings.port == 3000
    assert settings.jwt_expiration == timedelta(minutes=15)
    assert settings.refresh_token_expiration == timedelta(days=7)
    assert settings.clinic_timezone == "America/New_York"
    assert settings.demo_password == "portal-demo-2025"
    assert settings.signing_secret  # the public development secret
    assert settings.validate_responses is True


@pytest.mark.parametrize("env_var", ["APP_ENV", "NODE_ENV"])
def test_production_without_jwt_secret_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, env_var: str
) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.setenv(env_var, "production")
    with pytest.raises(SettingsError, match="JWT_SECRET is required"):
        load_settings()


def test_every_missing_production_secret_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(app_env="production", jwt_secret=None)
    for name in (
        "JWT_SECRET",
        "PHI_ENCRYPTION_KEYS",
        "STORAGE_ENCRYPTION_KEY",
        "AUDIT_CHAIN_KEY",
        "AUDIT_CHECKPOINT",
    ):
        assert name in str(refused.value)


def test_short_jwt_secret_is_refused_outside_development() -> None:
    with pytest.raises(SettingsError, match="too short"):
        load_settings(app_env="test", jwt_secret="short")


def test_production_turns_response_validation_off_by_default() -> None:
    settings = load_settings(
        app_env="production",
        jwt_secret=LONG_SECRET,
        phi_encryption_keys=PHI_KEYS,
        storage_encryption_key=bytes(range(32)).hex(),
        **AUDIT_CHAIN,
    )
    assert settings.validate_responses is False
    assert settings.signing_secret == LONG_SECRET


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:p@db:3306/healthcare_db",
        "mariadb://u:p@db/healthcare_db",
        "mysql+mysqldb://u:p@db/healthcare_db",
    ],
)
def test_plan_style_mysql_urls_use_pymysql(url: str) -> None:
    assert load_settings(database_url=url).database_url.startswith("mysql+pymysql://u:p@db")


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(SettingsError, match="CLINIC_TIMEZONE"):
        load_settings(clinic_timezone="Mars/Olympus_Mons")


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_AUTH_MAX", "7")
    monkeypatch.setenv("STORAGE_PATH", "/srv/files")
    monkeypatch.setenv("CLINIC_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("SESSION_TIMEOUT", "60000")
    settings = load_settings()
    assert settings.rate_limit_auth_max == 7
    assert settings.storage_path == "/srv/files"
    assert settings.clinic_zone.key == "Europe/Paris"
    assert settings.session_timeout == timedelta(minutes=1)


def test_search_directory_ttl_defaults_to_a_minute_and_may_be_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SEARCH_DIRECTORY_TTL_SECONDS", raising=False)
    assert load_settings().search_directory_ttl_seconds == 60
    monkeypatch.setenv("SEARCH_DIRECTORY_TTL_SECONDS", "0")
    assert load_settings().search_directory_ttl_seconds == 0
    monkeypatch.setenv("SEARCH_DIRECTORY_TTL_SECONDS", "-1")
    with pytest.raises(SettingsError, match="SEARCH_DIRECTORY_TTL_SECONDS"):
        load_settings()


def test_password_hashing_runs_one_at_a_time_per_process_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PASSWORD_HASH_CONCURRENCY", raising=False)
    assert load_settings().password_hash_concurrency == 1
    monkeypatch.setenv("PASSWORD_HASH_CONCURRENCY", "4")
    assert load_settings().password_hash_concurrency == 4
    monkeypatch.setenv("PASSWORD_HASH_CONCURRENCY", "0")
    with pytest.raises(SettingsError, match="PASSWORD_HASH_CONCURRENCY"):
        load_settings()


def test_development_limits_are_far_above_one_developers_pace(monkeypatch) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    settings = load_settings()
    assert settings.rate_limit_auth_max >= 100
    assert settings.rate_limit_max_requests >= 5000
    assert settings.rate_limit_booking_max >= 100
    assert settings.rate_limit_enabled


def test_development_keeps_limits_set_explicitly(monkeypatch) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("RATE_LIMIT_AUTH_MAX", "5")
    assert load_settings().rate_limit_auth_max == 5


@pytest.mark.parametrize("env", ["test", "production"])
def test_test_and_production_keep_the_plans_limits(monkeypatch, env: str) -> None:
    monkeypatch.setenv("APP_ENV", env)
    monkeypatch.setenv("JWT_SECRET", LONG_SECRET)
    monkeypatch.setenv("PHI_ENCRYPTION_KEYS", PHI_KEYS)
    monkeypatch.setenv("STORAGE_ENCRYPTION_KEY", base64.b64encode(bytes(32)).decode())
    monkeypatch.setenv("AUDIT_CHAIN_KEY", "c" * 40)
    monkeypatch.setenv("AUDIT_CHECKPOINT", "file:///var/log/portal/audit-checkpoints.log")
    settings = load_settings()
    assert (settings.rate_limit_max_requests, settings.rate_limit_auth_max) == (100, 5)
    assert settings.rate_limit_booking_max == 10


@pytest.mark.parametrize(
    "url", ["nonsense", "postgresql://u:p@db/portal", "mysql://u:p@db:notaport/portal"]
)
def test_a_database_url_the_server_cannot_use_is_refused_by_name(url: str) -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(database_url=url)


def test_production_needs_an_audit_chain_key_and_a_checkpoint_outside_the_database() -> None:
    production = {
        "app_env": "production",
        "jwt_secret": LONG_SECRET,
        "phi_encryption_keys": PHI_KEYS,
        "storage_encryption_key": bytes(range(32)).hex(),
    }
    with pytest.raises(SettingsError, match="AUDIT_CHAIN_KEY is required") as refused:
        load_settings(**production)
    assert "AUDIT_CHECKPOINT is required" in str(refused.value)
    with pytest.raises(SettingsError, match="AUDIT_CHAIN_KEY is too short"):
        load_settings(**production, audit_chain_key="short", audit_checkpoint="s3://b/p")
    with pytest.raises(SettingsError, match="AUDIT_CHECKPOINT is required"):
        load_settings(**production, audit_chain_key="c" * 40, audit_checkpoint="off")
    settings = load_settings(**production, **AUDIT_CHAIN)
    assert settings.chain_key == "c" * 40
    assert settings.checkpoint_url == "s3://audit-bucket/checkpoints"


def test_development_keys_the_chain_and_checkpoints_it_without_configuration() -> None:
    settings = load_settings(app_env="development")
    assert settings.chain_key  # the public development key
    assert settings.checkpoint_url == "file://var/audit-checkpoints.log"
    assert load_settings(app_env="development", audit_checkpoint="off").checkpoint_url is None
    test = load_settings(
        app_env="test", jwt_secret=LONG_SECRET, storage_encryption_key=bytes(range(32)).hex()
    )
    assert test.checkpoint_url is None  # tests name their own
    assert test.chain_key == settings.chain_key


@pytest.mark.parametrize("value", ["/var/log/audit.log", "http://example.com/x", "s3://"])
def test_a_checkpoint_that_is_neither_a_file_nor_a_bucket_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="AUDIT_CHECKPOINT"):
        load_settings(audit_checkpoint=value)
