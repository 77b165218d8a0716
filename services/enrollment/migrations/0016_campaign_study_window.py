"""The campaign's study window (from quota's campaign.published): classes open within it, entrance tests end by
its end. Campaigns heard of before keep it empty until quota publishes them again.

Revision ID: enrollment_0016
Revises: enrollment_0015
Create Date: 2026-12-03 15:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0016"
down_revision = "enrollment_0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("study_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("study_end", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("study_end")
        batch_op.drop_column("study_start")
