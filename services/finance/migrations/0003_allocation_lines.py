"""Allocations held per unit line: one allocation has a line for every unit (allocation.published is per line).

Revision ID: finance_0003
Revises: finance_0002
"""

from alembic import op
import sqlalchemy as sa


revision = "finance_0003"
down_revision = "finance_0002"
branch_labels = None
depends_on = None

COLUMNS = "allocation_id, revision, campaign_id, unit_id, academic_seats, skills_money"


def _table(name: str, *key: str) -> None:
    op.create_table(
        name,
        sa.Column("allocation_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("academic_seats", sa.Integer(), nullable=False),
        sa.Column("skills_money", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"),
    )


def _rebuild(*key: str) -> None:
    """A new primary key, the same rows: copy into a new table (works on PostgreSQL and SQLite alike)."""
    _table("allocations_rebuilt", *key)
    op.execute(f"INSERT INTO allocations_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM allocations")
    op.drop_index(op.f("ix_allocations_campaign_id"), table_name="allocations")
    op.drop_table("allocations")
    op.rename_table("allocations_rebuilt", "allocations")
    op.create_index(op.f("ix_allocations_campaign_id"), "allocations", ["campaign_id"], unique=False)


def upgrade() -> None:
    _rebuild("allocation_id", "unit_id")


def downgrade() -> None:
    op.execute(
        "DELETE FROM allocations WHERE unit_id NOT IN (SELECT MIN(unit_id) FROM allocations GROUP BY allocation_id)"
    )
    _rebuild("allocation_id")
