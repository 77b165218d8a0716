"""The breakdown revision last applied to a reservation (a skills subsidy follows finance's breakdown.settled).

Revision ID: quota_0003
Revises: quota_0002
Create Date: 2026-11-25 23:52:00
"""

from alembic import op
import sqlalchemy as sa


revision = "quota_0003"
down_revision = "quota_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reservations", sa.Column("breakdown_revision", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("reservations", "breakdown_revision")
