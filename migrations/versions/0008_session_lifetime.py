"""sessions with a maximum lifetime: each refresh token carries when its session began; revoked
tokens are indexed for the revocations of the last access-token lifetime

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.types.TypeEngine[datetime]:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch_op:
        batch_op.add_column(sa.Column("session_started_at", _utc(), nullable=True))
    # A session open at upgrade time counts its lifetime from its newest token.
    op.execute("UPDATE refresh_tokens SET session_started_at = created_at")
    with op.batch_alter_table("refresh_tokens") as batch_op:
        batch_op.alter_column("session_started_at", existing_type=_utc(), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_refresh_tokens_revoked_at"), ["revoked_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_revoked_at"))
        batch_op.drop_column("session_started_at")
