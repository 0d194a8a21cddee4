"""audit chain head: the row appenders lock so the hash chain stays linear

Revision ID: issue6b
Revises: 0001
Create Date: 2026-11-25 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "issue6b"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    heads = op.create_table(
        "audit_chain_heads",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=True),
        sa.Column("anchor_id", sa.BigInteger(), nullable=True),
        sa.Column("anchor_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_chain_heads")),
    )
    # The one chain exists from the start, so appenders only ever lock, never insert, it.
    op.bulk_insert(heads, [{"name": "audit_logs"}])


def downgrade() -> None:
    op.drop_table("audit_chain_heads")
