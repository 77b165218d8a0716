"""The campaign's transfer deadline in finance's read model (from campaign.published).

Revision ID: finance_0009
Revises: finance_0008
Create Date: 2026-12-03 11:40:00
"""

from alembic import op
import sqlalchemy as sa

revision = "finance_0009"
down_revision = "finance_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transfer_deadline", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("transfer_warning_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("transfer_warning_days")
        batch_op.drop_column("transfer_deadline")
