"""audit entries name the patient whose data they concern (`subject`), filterable

Revision ID: audit_subject2
Revises: 0012
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_subject2"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Entries written before this revision keep a NULL subject: their canonical form (and so
    # their hash) leaves a NULL subject out, so the sealed chain still verifies.
    with op.batch_alter_table("audit_logs") as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(36), nullable=True))
        batch_op.create_index("ix_audit_logs_subject_timestamp", ["subject", "timestamp"])


def downgrade() -> None:
    with op.batch_alter_table("audit_logs") as batch_op:
        batch_op.drop_index("ix_audit_logs_subject_timestamp")
        batch_op.drop_column("subject")
