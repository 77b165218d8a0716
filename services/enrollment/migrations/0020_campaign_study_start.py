"""The start of the campaign's study window (from quota's campaign.published): classes open within the study
window, entrance tests end by its end (study_end came with the retention rules). Campaigns heard of before keep
it empty until quota publishes them again.

Revision ID: enrollment_0020
Revises: enrollment_0019
Create Date: 2026-12-03 16:08:00
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0020"
down_revision = "enrollment_0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("study_start", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("study_start")
