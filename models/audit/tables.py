"""The audit trail's tables: append-only rows, hash-chained in the order they are sealed, and the
chain head (one row the sealer locks to extend the chain)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from models.audit.errors import AppendOnlyViolation
from models.base import Base, UtcDateTime

AUDIT_CHAIN = "audit_logs"


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (
        sa.Index("ix_audit_logs_user_timestamp", "user_id", "timestamp"),
        sa.Index("ix_audit_logs_resource", "resource", "resource_id"),
        # the patient's access report and the admins' filter by patient
        sa.Index("ix_audit_logs_subject_timestamp", "subject", "timestamp"),
        # the chain order; NULL until the entry is sealed (models.audit.use_cases.seal)
        sa.Index("ix_audit_logs_seq", "seq", unique=True),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    timestamp: Mapped[datetime] = mapped_column(
        UtcDateTime, nullable=False, default=utcnow, index=True
    )
    user_id: Mapped[str | None] = mapped_column(sa.String(36))
    user_role: Mapped[str | None] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    resource: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    resource_id: Mapped[str | None] = mapped_column(sa.String(64))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(500))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # The patient whose data the entry concerns (their user id); NULL when there is none.
    subject: Mapped[str | None] = mapped_column(sa.String(36))
    seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _refuse_changes(_mapper: object, _connection: object, entry: AuditLog) -> None:
    # Entries are written once; the sealer fills in an unsealed entry's place in the chain
    # (seq, prev_hash, hash) once, and retention removes old ones, both by bulk statements
    # (models.audit.use_cases: seal and prune_before).
    raise AppendOnlyViolation(f"audit entry {entry.id} is append-only")


class AuditChainHead(Base):
    """The newest sealed link of a chain. Sealing locks this row (SELECT ... FOR UPDATE), so
    sealers on several workers extend the chain one after another, never from the same head.

    `anchor_id`/`anchor_hash` remember the last entry removed by retention, so the oldest
    kept entry can still be checked against what came before it.
    """

    __tablename__ = "audit_chain_heads"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    last_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_hash: Mapped[str | None] = mapped_column(sa.String(64))
    anchor_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    anchor_hash: Mapped[str | None] = mapped_column(sa.String(64))
