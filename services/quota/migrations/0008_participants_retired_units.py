"""Which first-level units take part in a campaign; retired and merged units (never deleted).

Revision ID: quota_0008
Revises: quota_0007
Create Date: 2026-12-03 12:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = "quota_0008"
down_revision = "quota_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=10), nullable=False, server_default="active"))
        batch_op.add_column(sa.Column("successor_id", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key("fk_units_successor_id_units", "units", ["successor_id"], ["id"])
        batch_op.create_check_constraint("ck_unit_status", "status IN ('active', 'retired')")
        batch_op.create_check_constraint("ck_unit_successor_retired", "successor_id IS NULL OR status = 'retired'")
    op.create_table(
        "campaign_participants",
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("campaign_id", "unit_id"),
    )


def downgrade() -> None:
    op.drop_table("campaign_participants")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_constraint("ck_unit_successor_retired", type_="check")
        batch_op.drop_constraint("ck_unit_status", type_="check")
        batch_op.drop_constraint("fk_units_successor_id_units", type_="foreignkey")
        batch_op.drop_column("successor_id")
        batch_op.drop_column("status")
