"""A campaign's transfer deadline (the federation transfers the earmarked funds to units before year end).

Revision ID: quota_0007
Revises: quota_0006
Create Date: 2026-12-03 11:35:00
"""

from alembic import op
import sqlalchemy as sa


revision = "quota_0007"
down_revision = "quota_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transfer_deadline", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("transfer_warning_days", sa.Integer(), nullable=False, server_default="30"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE campaigns SET transfer_deadline = make_date(year, 12, 31)")
    else:  # the embedded SQLite
        op.execute("UPDATE campaigns SET transfer_deadline = printf('%04d-12-31', year)")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column("transfer_deadline", nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("transfer_warning_days")
        batch_op.drop_column("transfer_deadline")
