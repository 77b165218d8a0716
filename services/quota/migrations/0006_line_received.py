"""Money a unit already received per allocation line (from finance's funds.transferred and funds.reclaimed).

Revision ID: quota_0006
Revises: quota_0005
Create Date: 2026-12-03 11:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "quota_0006"
down_revision = "quota_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("allocation_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("academic_received", sa.Numeric(14, 2), nullable=False, server_default="0.00"))
        batch_op.add_column(sa.Column("skills_received", sa.Numeric(14, 2), nullable=False, server_default="0.00"))
        batch_op.create_check_constraint("ck_line_received", "academic_received >= 0 AND skills_received >= 0")


def downgrade() -> None:
    with op.batch_alter_table("allocation_lines", schema=None) as batch_op:
        batch_op.drop_constraint("ck_line_received", type_="check")
        batch_op.drop_column("skills_received")
        batch_op.drop_column("academic_received")
