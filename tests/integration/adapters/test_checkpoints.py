"""The checkpoint logs of AUDIT_CHECKPOINT: an append-only file, and objects in an S3 bucket
(moto's server); the chain sealed and verified against each, and a removed tail found."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from adapters.checkpoints import FileCheckpointLog, S3CheckpointLog, checkpoint_log_from_settings
from models.audit.queries import append
from models.audit.tables import AuditChainHead, AuditLog
from models.audit.use_cases import AuditChain, seal_now, verify_chain
from portal.runtime import Services
from security.audit import AuditRecord
from tests.conftest import make_settings
from tests.support.s3_server import CREDENTIALS, S3Server

LINES = [f"{n} {'ab' * 32} 2026-01-05T14:30:00+00:00 {'cd' * 32}" for n in (1, 2)]


def test_the_file_log_appends_and_reads_every_line(tmp_path) -> None:
    log = FileCheckpointLog(tmp_path / "nested" / "checkpoints.log")
    assert list(log.lines()) == []
    for line in LINES:
        log.append(line)
    assert list(log.lines()) == LINES
    assert (tmp_path / "nested" / "checkpoints.log").read_text() == "".join(f"{x}\n" for x in LINES)


def test_the_s3_log_keeps_one_object_per_checkpoint(s3_server: S3Server, backend) -> None:
    bucket = s3_server.new_bucket(f"audit-{uuid.uuid4().hex[:12]}")
    settings = make_settings(
        backend.url,
        backend.storage_path,
        audit_checkpoint=f"s3://{bucket}/chain/checkpoints",
        aws_endpoint_url=s3_server.endpoint_url,
        **CREDENTIALS,
    )
    log = checkpoint_log_from_settings(settings)
    assert isinstance(log, S3CheckpointLog)
    assert log.where == f"s3://{bucket}/chain/checkpoints"
    for line in LINES:
        log.append(line)
        log.append(line)  # a retried write is the same object
    assert sorted(log.lines()) == LINES
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert all(key.startswith("chain/checkpoints/") for key in keys) and len(keys) == 2


def _seal_some(services: Services, chain: AuditChain, count: int) -> None:
    for number in range(count):
        record = AuditRecord(
            action="LOGIN", resource="auth", status="success", resource_id=str(number)
        )
        services.db.run(lambda s, r=record: append(s, r))
        assert seal_now(services.db, chain) == 1


def test_a_chain_checkpointed_in_s3_verifies_and_a_removed_tail_is_found(
    s3_server: S3Server, services: Services
) -> None:
    bucket = s3_server.new_bucket(f"audit-{uuid.uuid4().hex[:12]}")
    log = S3CheckpointLog(s3_server.client(), bucket, "checkpoints")
    chain = AuditChain(services.audit_chain.keys, log)
    _seal_some(services, chain, 4)
    report = verify_chain(services.db, chain)
    assert report.intact and report.checkpoints == 4
    with services.db.engine.begin() as connection:
        last = connection.execute(
            sa.select(AuditLog.id, AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc())
        ).all()
        kept = last[1]
        connection.execute(sa.delete(AuditLog).where(AuditLog.seq > kept.seq))
        connection.execute(
            sa.update(AuditChainHead).values(
                last_id=kept.id, last_seq=kept.seq, last_hash=kept.hash
            )
        )
    report = verify_chain(services.db, chain)
    assert not report.intact
    assert "removed" in (report.problem or "")
