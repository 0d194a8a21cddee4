"""Settings read once from the environment into one typed object (docs/configuration.md lists
every variable)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEV_JWT_SECRET = "development-only-secret-do-not-use-in-production"
MIN_JWT_SECRET_LENGTH = 32
# Development and test without AUDIT_CHAIN_KEY key the audit chain with this public one.
DEV_AUDIT_CHAIN_KEY = "development-only-audit-chain-key-do-not-use-in-production"
MIN_AUDIT_CHAIN_KEY_LENGTH = 32
# Where development checkpoints the audit chain's head when AUDIT_CHECKPOINT is not set.
DEV_AUDIT_CHECKPOINT = "file://var/audit-checkpoints.log"
STORAGE_KEY_BYTES = 32
# Development without STORAGE_ENCRYPTION_KEY encrypts with this public, derived key (warned).
DEV_STORAGE_KEY = hashlib.sha256(b"portal development storage key - not secret").digest()

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: object) -> timedelta:
    """Parse '15m', '7d', '3600s', '900' (seconds) or a timedelta into a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 15m, 7d, 3600s)")
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def parse_durations(value: object) -> tuple[timedelta, ...]:
    """'72h,24h' (or a sequence of durations) into durations, longest first; '' is none."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"not a list of durations: {value!r}")
    durations = {parse_duration(item) for item in items if str(item).strip()}
    if any(duration <= timedelta(0) for duration in durations):
        raise ValueError("durations must be positive")
    return tuple(sorted(durations, reverse=True))


# The limits `make run` uses when none is set (per window, as in production).
DEVELOPMENT_RATE_LIMITS = {
    "rate_limit_max_requests": 10_000,
    "rate_limit_auth_max": 200,
    "rate_limit_booking_max": 500,
}


class SettingsError(ValueError):
    """A configuration that the server refuses to start with."""


class Settings(BaseSettings):
    """Every knob of the service; names are the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    app_env: Literal["development", "test", "production"] = Field(
        "development", validation_alias=AliasChoices("APP_ENV", "NODE_ENV")
    )
    port: int = 3000
    log_level: str = "info"

    database_url: str = "sqlite:///var/portal.sqlite3"
    database_pool_size: int = Field(20, ge=1, le=500)
    database_replica_url: str | None = None
    # Bounds on each MariaDB conversation (kernel/database.py): a database that does not answer
    # within them makes the request a 503, never a frozen worker.
    database_connect_timeout_seconds: float = Field(3, gt=0, le=300)
    database_read_timeout_seconds: float = Field(5, gt=0, le=3600)
    database_write_timeout_seconds: float = Field(5, gt=0, le=3600)
    database_pool_timeout_seconds: float = Field(5, gt=0, le=300)
    # After the database failed to answer, this long every call fails at once, unasked.
    database_unavailable_hold_seconds: float = Field(1, ge=0, le=60)
    # A replica further behind than this (or not replicating) is skipped: reads go to the primary.
    database_replica_max_lag_seconds: float = Field(5, ge=0, le=3600)
    # How often each process checks the replica's health and lag (and retries one that failed).
    database_replica_check_seconds: float = Field(1, ge=0, le=60)
    # Read-your-writes: how long a user's read waits for the replica to apply their last write
    # before it reads from the primary instead.
    database_replica_wait_seconds: float = Field(0.1, ge=0, le=5)

    jwt_secret: str | None = None
    jwt_expiration: Duration = timedelta(minutes=15)
    refresh_token_expiration: Duration = timedelta(days=7)
    session_timeout_ms: int = Field(
        900_000, ge=1000, validation_alias=AliasChoices("SESSION_TIMEOUT", "SESSION_TIMEOUT_MS")
    )
    # However active a session is, no refresh is granted this long after its login.
    session_max_lifetime: Duration = timedelta(hours=12)
    # How long a worker may trust Redis's "this session is not revoked" (0: ask on every request).
    session_revocation_cache_seconds: float = Field(0, ge=0, le=60)
    # Without Redis: how often each process reads the sessions others revoked from the database.
    session_revocation_poll_seconds: float = Field(2, ge=0, le=60)
    # Bound on each Redis call of the revocation check; beyond it the database answers instead.
    session_revocation_timeout_seconds: float = Field(0.25, gt=0, le=5)

    frontend_url: str | None = "http://localhost:5173"
    password_hash_concurrency: int = Field(1, ge=1, le=64)

    rate_limit_window_ms: int = Field(900_000, ge=1000)
    rate_limit_max_requests: int = Field(100, ge=1)
    rate_limit_auth_window_ms: int = Field(900_000, ge=1000)
    rate_limit_auth_max: int = Field(5, ge=1)
    rate_limit_booking_window_ms: int = Field(3_600_000, ge=1000)
    rate_limit_booking_max: int = Field(10, ge=1)
    rate_limit_storage_url: str = "memory://"
    # Bound on each call to the limiter's Redis; beyond it each process counts on its own.
    rate_limit_storage_timeout_seconds: float = Field(0.5, gt=0, le=10)
    rate_limit_key_prefix: str = Field("portal", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    rate_limit_enabled: bool = True
    trusted_proxies: int = Field(0, ge=0)

    storage_type: Literal["local", "s3"] = "local"
    storage_path: str = "var/storage"
    storage_encryption_key: str | None = None
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1)
    # Bounds on what any request may make the server read (portal/web/input_limits.py): the
    # body of every operation that is not an upload, the query string, all headers together.
    max_json_body_bytes: int = Field(64 * 1024, ge=1024)
    max_query_string_bytes: int = Field(8 * 1024, ge=256)
    max_header_bytes: int = Field(32 * 1024, ge=1024)
    # A `.part` file (an upload being written) untouched this long belongs to a process that died.
    stale_upload_seconds: float = Field(3600, gt=0)
    # How long `portal serve` keeps an idle keep-alive connection open: longer than clients and
    # load balancers keep theirs (60 s on AWS ALB, nginx), so the server never closes one under
    # them as they reuse it.
    keep_alive_seconds: float = Field(75, gt=0, le=3600)
    aws_region: str = "us-east-1"
    aws_s3_bucket: str = "healthcare-medical-records"
    aws_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None

    validate_responses: bool | None = None

    phi_encryption_keys: str | None = None
    audit_log_retention_days: int = Field(2190, ge=2190)
    # How often each server process seals new audit entries into the hash chain.
    audit_seal_interval_seconds: float = Field(1.0, gt=0, le=60)
    # The HMAC key of the audit chain: never stored in the database, so write access to the
    # database alone cannot recompute a link (docs/audit-and-compliance.md).
    audit_chain_key: str | None = None
    # Entries sealed with plain SHA-256 before the chain was keyed: verify accepts the old
    # scheme for seq 1..this (0: none). Set once, when upgrading a chain sealed before the key.
    audit_chain_legacy_seq: int = Field(0, ge=0)
    # Where every seal appends the chain's head, outside the database: file://path (an
    # append-only file) or s3://bucket/prefix; "off" for none (development and test only).
    audit_checkpoint: str | None = None
    refresh_token_retention_days: int = Field(30, ge=0)
    cancelled_appointment_retention_days: int = Field(365, ge=1)
    metrics_token: str | None = None
    log_format: Literal["json", "text"] = "json"

    # How old search's in-memory provider directory may grow (models/search/queries.py).
    search_directory_ttl_seconds: float = Field(60, ge=0)
    clinic_timezone: str = "America/New_York"
    # The appointment lifecycle (models/appointments/rules/lifecycle.py): check-in opens this
    # long before the start; a no-show may be recorded this long after it.
    check_in_opens_minutes: int = Field(60, ge=0, le=24 * 60)
    no_show_grace_minutes: int = Field(15, ge=0, le=24 * 60)
    virtual_meeting_base_url: str = "https://meet.portal.example/visit"
    demo_password: str = "portal-demo-2025"

    # Notifications (models/notifications): delivered from the outbox by `portal worker`, or by
    # each `portal serve` process itself when NOTIFICATION_WORKER=inline.
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(10, gt=0, le=120)
    mail_from: str = "Patient Portal <no-reply@portal.example>"
    # Without SMTP_HOST, development writes each message as an .eml file here instead.
    mail_directory: str = "var/mail"
    notification_worker: Literal["inline", "off"] | None = None
    # Lead times of the reminders before an appointment's start, e.g. "72h,24h" ("" for none).
    notification_reminders: Annotated[
        tuple[timedelta, ...], NoDecode, BeforeValidator(lambda value: parse_durations(value))
    ] = (timedelta(hours=72), timedelta(hours=24))
    notification_max_attempts: int = Field(8, ge=1, le=100)
    notification_retry_seconds: float = Field(30, gt=0)
    notification_retry_max_seconds: float = Field(3600, gt=0)
    notification_poll_seconds: float = Field(5, gt=0, le=3600)
    # A message claimed by a worker that died before marking it is sent again after this long.
    notification_lease_seconds: float = Field(300, gt=0)
    # Where the portal's pages are, for the links in messages ("reschedule or cancel here").
    portal_url: str = "http://localhost:5173"

    # The waitlist (models/waitlist): a freed slot is offered to this many waiting patients at
    # once, each offer open this many minutes; a patient waits on at most this many lists.
    waitlist_offer_fanout: int = Field(3, ge=1, le=50)
    waitlist_offer_minutes: int = Field(30, ge=1, le=24 * 60)
    waitlist_max_entries: int = Field(5, ge=1, le=50)

    @field_validator("database_url", "database_replica_url")
    @classmethod
    def _use_pymysql(cls, url: str | None) -> str | None:
        """The plan writes mysql://...; SQLAlchemy needs the driver named (pymysql)."""
        if url is None:
            return None
        url = re.sub(r"^(mysql|mariadb)(\+\w+)?://", "mysql+pymysql://", url)
        if not re.match(r"^(sqlite|mysql\+pymysql)://", url):
            raise ValueError(
                "not a database URL this server can use: it takes mysql://user:password@host"
                "/database (MariaDB or MySQL) or sqlite:///path/to/file.sqlite3"
            )
        try:
            make_url(url)
        except ArgumentError:
            raise ValueError("not a parseable database URL") from None
        return url

    @field_validator("phi_encryption_keys")
    @classmethod
    def _parseable_phi_keys(cls, text: str | None) -> str | None:
        if text:
            parse_phi_keys(text)  # raises with a message naming the bad key
        return text or None

    @field_validator("clinic_timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"CLINIC_TIMEZONE {name!r} is not an IANA time zone") from exc
        return name

    @field_validator("audit_checkpoint")
    @classmethod
    def _checkpoint_is_a_file_or_a_bucket(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("", "off", "none"):
            return None if value is None else "off"
        if not re.match(r"^(file://.+|s3://[^/]+(/.*)?)$", value.strip()):
            raise ValueError(
                f"AUDIT_CHECKPOINT {value!r}: use file:///path/to/file, s3://bucket/prefix or off"
            )
        return value.strip()

    @field_validator("storage_encryption_key")
    @classmethod
    def _storage_key_is_32_bytes(cls, value: str | None) -> str | None:
        if value:
            parse_storage_key(value)
        return value or None

    @model_validator(mode="after")
    def _refuse_unsafe_configuration(self) -> Settings:
        if self.notification_worker is None:
            # A developer's `make run` sends its mail without a second command.
            self.notification_worker = "inline" if self.app_env == "development" else "off"
        if self.app_env == "development":
            # A front-end developer reloads, logs in and books all day: development keeps the
            # limits on (their headers and 429s stay visible) but far above one person's pace,
            # unless set explicitly. Test and production keep the plan's.
            for name, value in DEVELOPMENT_RATE_LIMITS.items():
                if name not in self.model_fields_set:
                    setattr(self, name, value)
        if self.audit_checkpoint is None and self.app_env == "development":
            self.audit_checkpoint = DEV_AUDIT_CHECKPOINT
        if self.validate_responses is None:
            # Checking every response against the spec catches drift in development and
            # tests; production skips the cost.
            self.validate_responses = self.app_env != "production"
        if problems := list(self._missing_secrets()):
            raise SettingsError("; ".join(problems))
        return self

    def _missing_secrets(self) -> Iterator[str]:
        """Every secret that only development may do without, named at once."""
        if self.app_env == "development":
            return
        if not self.jwt_secret:
            yield (
                f"JWT_SECRET is required when APP_ENV={self.app_env}: set it to a random "
                f"string of at least {MIN_JWT_SECRET_LENGTH} characters"
            )
        elif len(self.jwt_secret) < MIN_JWT_SECRET_LENGTH:
            yield (
                f"JWT_SECRET is too short ({len(self.jwt_secret)} characters): "
                f"use at least {MIN_JWT_SECRET_LENGTH}"
            )
        if self.app_env == "production" and not self.phi_encryption_keys:
            yield (
                "PHI_ENCRYPTION_KEYS is required when APP_ENV=production: "
                "set it to id:base64key (32 random bytes), e.g. from `portal keys generate`"
            )
        if self.app_env == "production":
            yield from self._missing_audit_chain_settings()
        if self.storage_type == "local" and not self.storage_encryption_key:
            yield (
                f"STORAGE_ENCRYPTION_KEY is required when APP_ENV={self.app_env} and "
                "STORAGE_TYPE=local: set it to 32 random bytes, base64 or hex encoded "
                '(e.g. python -c "import secrets,base64;'
                'print(base64.b64encode(secrets.token_bytes(32)).decode())")'
            )

    def _missing_audit_chain_settings(self) -> Iterator[str]:
        if not self.audit_chain_key:
            yield (
                "AUDIT_CHAIN_KEY is required when APP_ENV=production: set it to a random string "
                f"of at least {MIN_AUDIT_CHAIN_KEY_LENGTH} characters, kept out of the database"
            )
        elif len(self.audit_chain_key) < MIN_AUDIT_CHAIN_KEY_LENGTH:
            yield (
                f"AUDIT_CHAIN_KEY is too short ({len(self.audit_chain_key)} characters): "
                f"use at least {MIN_AUDIT_CHAIN_KEY_LENGTH}"
            )
        if self.audit_checkpoint in (None, "off"):
            yield (
                "AUDIT_CHECKPOINT is required when APP_ENV=production: set it to "
                "s3://bucket/prefix or file:///path/to/an/append-only/file"
            )

    @property
    def signing_secret(self) -> str:
        """The JWT secret; only development falls back to a fixed, public one."""
        return self.jwt_secret or DEV_JWT_SECRET

    @property
    def chain_key(self) -> str:
        """The audit chain's key; only development and test fall back to a fixed, public one."""
        return self.audit_chain_key or DEV_AUDIT_CHAIN_KEY

    @property
    def checkpoint_url(self) -> str | None:
        """Where the chain's head is checkpointed; None when it is not."""
        return None if self.audit_checkpoint in (None, "off") else self.audit_checkpoint

    @cached_property
    def clinic_zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)

    @property
    def session_timeout(self) -> timedelta:
        return timedelta(milliseconds=self.session_timeout_ms)

    @property
    def shared_redis_url(self) -> str | None:
        """RATE_LIMIT_STORAGE_URL when it is a Redis: the store every worker shares."""
        url = self.rate_limit_storage_url
        return url if url.partition("://")[0] in ("redis", "rediss") else None

    @property
    def storage_key(self) -> bytes | None:
        """The file-encryption key; development falls back to a public derived key, S3 without
        a key relies on the bucket's server-side encryption alone."""
        if self.storage_encryption_key:
            return parse_storage_key(self.storage_encryption_key)
        return DEV_STORAGE_KEY if self.app_env == "development" else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def parse_storage_key(value: str) -> bytes:
    """STORAGE_ENCRYPTION_KEY: 32 bytes as 64 hex digits or as base64 (standard or URL-safe)."""
    text = value.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 2 * STORAGE_KEY_BYTES else b""
    except ValueError:
        key = b""
    if not key:
        try:
            key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            key = b""
    if len(key) != STORAGE_KEY_BYTES:
        raise ValueError(
            f"STORAGE_ENCRYPTION_KEY must be {STORAGE_KEY_BYTES} bytes, base64 or hex encoded"
        )
    return key


_PHI_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
PHI_KEY_BYTES = 32


def parse_phi_keys(text: str) -> dict[str, bytes]:
    """PHI_ENCRYPTION_KEYS, `kid1:base64key,kid2:base64key`, as keys by id in their order (the
    first is the one new values are sealed with); ValueError names the first bad entry."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        if not sep or not _PHI_KEY_ID.match(kid):
            raise ValueError(f"PHI key {kid!r}: use id:base64key with a short id")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"PHI key {kid!r} is not valid base64") from exc
        if len(key) != PHI_KEY_BYTES:
            raise ValueError(
                f"PHI key {kid!r} must be {PHI_KEY_BYTES} bytes (AES-256), got {len(key)}"
            )
        if kid in keys:
            raise ValueError(f"PHI key id {kid!r} appears twice")
        keys[kid] = key
    if not keys:
        raise ValueError("PHI_ENCRYPTION_KEYS names no key")
    return keys


def load_settings(**overrides: Any) -> Settings:
    """Read the environment once; overrides (tests, CLI flags) win over it."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:  # name the variables plainly, without pydantic's noise
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])).upper() or 'settings'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid configuration: {problems}") from None
