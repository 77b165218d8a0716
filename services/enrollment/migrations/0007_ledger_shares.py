"""What the ledger learns of finance's fee shares (breakdown.settled) and recovered reimbursements.

Revision ID: enrollment_0007
Revises: enrollment_0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0007"
down_revision = "enrollment_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breakdowns",
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("federation", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("unit", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("employee", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("enrolment_id"),
    )
    op.create_table(
        "recoveries",
        sa.Column("reimbursement_id", sa.String(length=36), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("share", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("recovered_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("reimbursement_id"),
    )
    op.create_index(op.f("ix_recoveries_enrolment_id"), "recoveries", ["enrolment_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_recoveries_enrolment_id"), table_name="recoveries")
    op.drop_table("recoveries")
    op.drop_table("breakdowns")
