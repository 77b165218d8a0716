"""Employees' one-time activation codes (hashed, single use, expiring, a few wrong tries at most).

Revision ID: gateway_0007
Revises: gateway_0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0007"
down_revision = "gateway_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activation_codes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("employee_id", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(255), nullable=False),
        sa.Column("issued_by", sa.String(100), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
    )
    op.create_index("ix_activation_codes_employee_id", "activation_codes", ["employee_id"])


def downgrade() -> None:
    op.drop_table("activation_codes")
