"""appointments.reschedule_reason: why the patient last moved the appointment

Revision ID: issue3_reschedule_reason
Revises: issue6b
Create Date: 2026-11-25 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "issue3_reschedule_reason"
down_revision: str | None = "issue6b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The reschedule request's optional `reason`; the visit's own `reason` stays.
    op.add_column("appointments", sa.Column("reschedule_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("appointments", "reschedule_reason")
