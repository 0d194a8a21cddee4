"""users: index on (last_name, first_name) for the provider search's ordered pages

Revision ID: issue4
Revises: issue3_reschedule_reason
Create Date: 2026-11-25 20:05:00

Search lists providers by last name, first name; with this index a page of 20 is read in
order and the scan stops after it, instead of sorting every provider for each request.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "issue4"
down_revision: str | None = "issue3_reschedule_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_last_name_first_name", ["last_name", "first_name"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_last_name_first_name")
