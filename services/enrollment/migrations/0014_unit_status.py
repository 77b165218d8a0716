"""A retired first-level unit (from quota's unit.upserted) takes no new nominations.

Revision ID: enrollment_0014
Revises: enrollment_0013
Create Date: 2026-12-03 12:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0014"
down_revision = "enrollment_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=10), nullable=False, server_default="active"))


def downgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_column("status")
