"""audit chain sealed in batches: each entry's place in the chain (seq) is set when it is sealed

Revision ID: audit_seal
Revises: issue4
Create Date: 2026-11-25 23:00:00

Until now every entry was hashed into the chain by its writer, under the chain-head lock, and
ids follow that order: the existing entries keep their hashes and take their id as their place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_seal"
down_revision: str | None = "issue4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_logs") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_logs SET seq = id WHERE hash IS NOT NULL")
    op.create_index("ix_audit_logs_seq", "audit_logs", ["seq"], unique=True)
    with op.batch_alter_table("audit_chain_heads") as batch:
        batch.add_column(sa.Column("last_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_chain_heads SET last_seq = last_id")


def downgrade() -> None:
    # Entries not sealed yet cannot join the old writer-hashed chain: seal before downgrading.
    with op.batch_alter_table("audit_chain_heads") as batch:
        batch.drop_column("last_seq")
    op.drop_index("ix_audit_logs_seq", table_name="audit_logs")
    with op.batch_alter_table("audit_logs") as batch:
        batch.drop_column("seq")
