"""The `portal` command: `db upgrade|downgrade|seed`, `serve`, `worker`, `audit verify`,
`keys rotate|generate`, `retention run`."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from adapters.logs import install_request_id_logging
from kernel.database import DatabaseUnavailable
from kernel.settings import SettingsError, load_settings
from security.phi import PhiKeyError


def _db_upgrade(args: argparse.Namespace) -> int:
    from portal.ops import migrate

    settings = load_settings()
    _ensure_sqlite_dir(settings.database_url)
    migrate.upgrade(settings.database_url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    from portal.ops import migrate

    migrate.downgrade(load_settings().database_url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def _db_seed(args: argparse.Namespace) -> int:
    from portal.ops.demo.seed import seed_with_settings
    from portal.runtime import build_services

    current = build_services(load_settings())
    report = seed_with_settings(current, providers=args.providers, appointments=args.appointments)
    print(f"seed: {report}")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from models.audit.use_cases import verify_chain
    from portal.runtime import build_services

    current = build_services(load_settings())
    report = verify_chain(current.db, current.audit_chain)
    if report.intact:
        waiting = f" ({report.unsealed} written since, not sealed yet)" if report.unsealed else ""
        print(f"audit chain intact: {report.entries} entries{waiting}")
        where = current.audit_chain.checkpoints
        if where is None:
            print("no checkpoints configured (AUDIT_CHECKPOINT): a removed tail cannot be seen")
        else:
            newest = report.newest_checkpoint
            upto = f", the newest of seq {newest.seq} at {newest.at.isoformat()}" if newest else ""
            print(f"matches its {report.checkpoints} checkpoints at {where.where}{upto}")
        return 0
    print(
        f"audit chain BROKEN at entry {report.broken_at}: {report.problem} "
        f"({report.entries} entries before it verify)"
    )
    return 1


def _keys_rotate(args: argparse.Namespace) -> int:
    from portal.ops.keys import rotate
    from portal.runtime import build_services
    from security import phi

    current = build_services(load_settings())
    keys = phi.keyring()
    if args.from_development_key:
        if keys.current_id == phi.DEV_KEY_ID:
            print(
                "portal: --from-development-key moves data to PHI_ENCRYPTION_KEYS, "
                "which is not set (`portal keys generate ID` prints a key)",
                file=sys.stderr,
            )
            return 2
        keys = keys.reading_development_data()
        phi.use_keyring(keys)
    counts = rotate(current.db, keys, batch=args.batch)
    summary = ", ".join(f"{name}: {n}" for name, n in counts.items())
    print(f"re-encrypted under key {keys.current_id!r}: {summary}")
    return 0


def _keys_generate(args: argparse.Namespace) -> int:
    from security.phi import generate_key

    print(f"{args.key_id}:{generate_key()}")
    return 0


def _retention_run(args: argparse.Namespace) -> int:
    from kernel.clock import utcnow
    from models.retention.use_cases import run_retention
    from portal.runtime import build_services

    settings = load_settings()
    current = build_services(settings)
    print(run_retention(current.db, current.audit_chain, settings, utcnow(), dry_run=args.dry_run))
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Deliver the notification outbox (and run the waitlist's expiry pass before each round)
    until stopped (SIGINT, SIGTERM), or once."""
    import signal

    from adapters.logs import configure_logging
    from portal.runtime import build_services
    from portal.runtime.outbox import OutboxWorker, waitlist_pass

    settings = load_settings()
    configure_logging(settings.log_level, json_format=settings.log_format == "json")
    current = build_services(settings)
    if current.mailer is None:
        print("portal: no mail server is configured (set SMTP_HOST)", file=sys.stderr)
        return 2
    worker = OutboxWorker(
        current.db,
        current.mailer,
        current.outbox,
        settings.notification_poll_seconds,
        waitlist=waitlist_pass(current),
    )
    if args.once:
        report = worker.run_once()
        print(
            f"notifications: {report.sent} sent, {report.failed} to retry, "
            f"{report.dead} dead, {report.skipped} skipped"
        )
        return 0
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: worker.stop())
    worker.run_forever()
    return 0


# What `serve` runs in every worker process (the module is imported there).
ASGI_APP = "portal.web.asgi:app"


def _serve(args: argparse.Namespace) -> int:
    """N uvicorn worker processes sharing one listening socket, metrics merged across them."""
    import uvicorn

    from adapters.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, json_format=settings.log_format == "json")
    with _metrics_dir(args.workers):
        uvicorn.run(
            ASGI_APP,
            host=args.host,
            port=args.port or settings.port,
            workers=args.workers,
            log_level=settings.log_level.lower(),
            # portal.web.asgi configures logging (JSON) in every worker; uvicorn's own config would
            # replace it, and its access log would duplicate our request lines.
            log_config=None,
            access_log=False,
            server_header=False,
            # Client addresses come from X-Forwarded-For only behind TRUSTED_PROXIES
            # (portal.web.limits); uvicorn's own handling would trust any local proxy.
            proxy_headers=False,
            # Longer than clients and load balancers keep idle connections (KEEP_ALIVE_SECONDS),
            # so the server never closes one as a client reuses it.
            timeout_keep_alive=max(1, round(settings.keep_alive_seconds)),
        )
    return 0


@contextmanager
def _metrics_dir(workers: int) -> Iterator[None]:
    """Give prometheus-client a directory shared by the workers (PROMETHEUS_MULTIPROC_DIR),
    emptied at start: samples of an earlier run must not be counted again."""
    from adapters.metrics import MULTIPROC_ENV

    given = os.environ.get(MULTIPROC_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield
        return
    if workers <= 1:
        yield  # one process: its own registry is the whole server
        return
    created = tempfile.mkdtemp(prefix="portal-metrics-")
    os.environ[MULTIPROC_ENV] = created  # inherited by the worker processes uvicorn spawns
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(created, ignore_errors=True)


def _ensure_sqlite_dir(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema and demo data")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate to the newest revision")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(func=_db_upgrade)
    downgrade = db_commands.add_parser("downgrade", help="migrate down (default: to empty)")
    downgrade.add_argument("revision", nargs="?", default="base")
    downgrade.set_defaults(func=_db_downgrade)
    seed = db_commands.add_parser("seed", help="add the demo data (idempotent)")
    seed.add_argument(
        "--providers", type=int, default=24, help="number of providers to have (default 24)"
    )
    seed.add_argument(
        "--appointments",
        type=int,
        default=0,
        help="also generate this many bookings by generated patients (scale tests; default 0)",
    )
    seed.set_defaults(func=_db_seed)

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", help="check the keyed hash chain against its checkpoints; exit 1 if broken"
    )
    verify.set_defaults(func=_audit_verify)

    keys = commands.add_parser("keys", help="PHI encryption keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_commands.add_parser(
        "rotate", help="re-encrypt all PHI under the first key of PHI_ENCRYPTION_KEYS"
    )
    rotate.add_argument("--batch", type=int, default=500, help="rows per transaction")
    rotate.add_argument(
        "--from-development-key",
        action="store_true",
        help="also read values sealed with the public development key (moving a development "
        "database to real keys)",
    )
    rotate.set_defaults(func=_keys_rotate)
    generate = keys_commands.add_parser("generate", help="print a new id:key entry")
    generate.add_argument("key_id", help="the new key's id, e.g. 2027a")
    generate.set_defaults(func=_keys_generate)

    retention = commands.add_parser("retention", help="data retention")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_commands.add_parser("run", help="purge what retention no longer requires")
    run.add_argument("--dry-run", action="store_true", help="only report what would go")
    run.set_defaults(func=_retention_run)

    worker = commands.add_parser("worker", help="deliver the notification outbox")
    worker.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    worker.set_defaults(func=_worker)

    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: PORT (3000)")
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    install_request_id_logging()
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"portal: {exc}", file=sys.stderr)
        return 2
    except PhiKeyError as exc:
        print(f"portal: {exc}", file=sys.stderr)
        return 1
    except DBAPIError as exc:  # unreachable, refusing, missing database: one line, not a trace
        print(f"portal: {_database_problem(exc)}", file=sys.stderr)
        return 1
    except DatabaseUnavailable as exc:  # the same, met inside a unit of work
        cause = exc.__cause__
        reason = cause if isinstance(cause, DBAPIError) else exc
        print(f"portal: {_database_problem(reason)}", file=sys.stderr)
        return 1


def _database_problem(exc: Exception) -> str:
    """`the database at mysql+pymysql://root:***@db/portal cannot be used: Can't connect...`"""
    from sqlalchemy.engine import make_url

    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    reason = orig.args[-1] if orig is not None and orig.args else orig
    try:
        where = make_url(load_settings().database_url).render_as_string(hide_password=True)
    except SettingsError:
        where = "DATABASE_URL"
    return f"the database at {where} cannot be used: {reason}"


if __name__ == "__main__":
    sys.exit(main())
