"""Retention of personal data: a campaign's study_end (the retention clock) and when an employee was anonymised.

Campaigns published before keep study_end NULL: their clock is the registration window's end until quota
publishes them again.

Revision ID: enrollment_0018
Revises: enrollment_0017
Create Date: 2026-12-03 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0018"
down_revision = "enrollment_0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("study_end", sa.Date(), nullable=True))
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anonymised_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.drop_column("anonymised_on")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("study_end")
