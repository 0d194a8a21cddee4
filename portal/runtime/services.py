"""The services one running app is made of (settings, database, tokens, storage, the search
directory, the audit trail and its chain, the outbox's policy and mailer, the waitlist's
policy), built once from the settings. The web layer makes them current for each request
(`handlers.dependencies`); the operator commands use them directly."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from adapters import metrics
from adapters.mail import Mailer, mailer_from_settings
from adapters.query_metrics import instrument_engine
from adapters.storage import Storage, storage_from_settings
from adapters.storage.local import LocalStorage
from adapters.write_fences import RedisFences
from kernel.clock import utcnow
from kernel.database import Database, Timeouts
from kernel.replica import LocalFences, ReplicaRouter, WriteFences
from kernel.settings import Settings
from models.accounts import use_cases as accounts
from models.audit.queries import append_many
from models.audit.use_cases import AuditChain
from models.notifications.use_cases import OutboxPolicy
from models.search.queries import DirectorySnapshot
from models.waitlist.use_cases import WaitlistPolicy
from security import passwords, phi
from security.audit import AuditTrail
from security.revocations import RedisRevocationFeed, RedisRevocations, SessionRevocations
from security.tokens import TokenService

logger = logging.getLogger("portal")


@dataclass
class Services:
    settings: Settings
    db: Database
    tokens: TokenService
    revocations: SessionRevocations
    storage: Storage
    search_directory: DirectorySnapshot
    audit_trail: AuditTrail
    audit_chain: AuditChain
    outbox: OutboxPolicy
    mailer: Mailer | None
    waitlist: WaitlistPolicy


def phi_keyring(settings: Settings) -> phi.Keyring:
    if settings.phi_encryption_keys:
        return phi.Keyring.parse(settings.phi_encryption_keys)
    if settings.app_env == "development":
        logger.warning("PHI_ENCRYPTION_KEYS is not set: using the public development PHI key")
    return phi.Keyring.development()


def audit_chain(settings: Settings) -> AuditChain:
    if settings.app_env == "development" and not settings.audit_chain_key:
        logger.warning("AUDIT_CHAIN_KEY is not set: keying the audit chain with the public key")
    return AuditChain.from_settings(settings)


def session_revocations(settings: Settings, db: Database) -> SessionRevocations:
    """The revocation list: shared through Redis when the limiter's storage is one."""
    url = settings.shared_redis_url
    shared = (
        RedisRevocations.from_url(
            url,
            prefix=settings.rate_limit_key_prefix,
            timeout=settings.session_revocation_timeout_seconds,
        )
        if url
        else None
    )
    ttl = settings.jwt_expiration
    return SessionRevocations(
        ttl=ttl,
        is_revoked_durably=lambda session_id: accounts.is_session_revoked(db, session_id),
        recently_revoked=lambda: accounts.sessions_revoked_within(db, ttl, utcnow()),
        shared=shared,
        feed=(
            RedisRevocationFeed(shared.client, shared.channel, time.monotonic) if shared else None
        ),
        cache_seconds=settings.session_revocation_cache_seconds,
        poll_seconds=settings.session_revocation_poll_seconds,
    )


def database_timeouts(settings: Settings) -> Timeouts:
    return Timeouts(
        connect=settings.database_connect_timeout_seconds,
        read=settings.database_read_timeout_seconds,
        write=settings.database_write_timeout_seconds,
        pool=settings.database_pool_timeout_seconds,
        hold=settings.database_unavailable_hold_seconds,
    )


def replica_router(settings: Settings, db: Database) -> ReplicaRouter | None:
    """How reads choose between the replica and the primary (kernel.replica), the users' write
    fences shared through Redis when the limiter's storage is one."""
    if db.replica is None:
        return None
    url = settings.shared_redis_url
    fences: WriteFences = (
        RedisFences.from_url(
            url,
            prefix=settings.rate_limit_key_prefix,
            timeout=settings.session_revocation_timeout_seconds,
        )
        if url
        else LocalFences()
    )
    return ReplicaRouter(
        db.engine,
        db.replica,
        fences=fences,
        max_lag_seconds=settings.database_replica_max_lag_seconds,
        check_seconds=settings.database_replica_check_seconds,
        wait_seconds=settings.database_replica_wait_seconds,
    )


def build_services(settings: Settings) -> Services:
    phi.use_keyring(phi_keyring(settings))
    passwords.allow_concurrent_hashes(settings.password_hash_concurrency)
    db = Database.from_url(
        settings.database_url,
        pool_size=settings.database_pool_size,
        replica_url=settings.database_replica_url,
        instrument=instrument_engine,
        timeouts=database_timeouts(settings),
    )
    db.router = replica_router(settings, db)
    return Services(
        settings=settings,
        db=db,
        tokens=TokenService(settings.signing_secret, settings.jwt_expiration),
        revocations=session_revocations(settings, db),
        storage=storage_from_settings(settings),
        search_directory=DirectorySnapshot(settings.search_directory_ttl_seconds),
        audit_trail=AuditTrail(db, append_many, on_batch=metrics.record_audit_batch),
        audit_chain=audit_chain(settings),
        outbox=OutboxPolicy.from_settings(settings),
        mailer=mailer_from_settings(settings),
        waitlist=WaitlistPolicy.from_settings(settings),
    )


def load_recent_revocations(services: Services) -> None:
    """At a process's start: the sessions ended within the last access-token lifetime, known
    before the first request (without Redis, a restarted process would forget them)."""
    revocations = services.revocations
    try:
        revocations.resync(revocations.recently_revoked())
    except Exception as exc:  # the database is not up yet: Redis, or later asks, answer
        logger.warning("could not load the recently ended sessions from the database: %s", exc)


def remove_stale_uploads(services: Services) -> None:
    """At a process's start: the local store's `.part` files of uploads whose process died
    (older than STALE_UPLOAD_SECONDS, so a sibling worker's upload in progress stays)."""
    if services.settings.storage_type == "local":
        LocalStorage(services.settings.storage_path).remove_stale_parts(
            services.settings.stale_upload_seconds
        )
