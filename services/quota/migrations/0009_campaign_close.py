"""A campaign can be closed (结项): status closed, with who, when, why and the choice for unspent funds.

Revision ID: quota_0009
Revises: quota_0008
Create Date: 2026-12-03 15:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "quota_0009"
down_revision = "quota_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint("ck_campaign_status", type_="check")
        batch_op.create_check_constraint("ck_campaign_status", "status IN ('draft', 'published', 'closed')")
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("close_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("unspent_funds", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("unspent_funds")
        batch_op.drop_column("close_reason")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_at")
        batch_op.drop_constraint("ck_campaign_status", type_="check")
        batch_op.create_check_constraint("ck_campaign_status", "status IN ('draft', 'published')")
