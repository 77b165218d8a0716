"""Failed logins per username and client address: the growing delay that replaces the per-username lock-out.

Revision ID: gateway_0005
Revises: gateway_0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0005"
down_revision = "gateway_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
    )
    op.create_index("ix_login_failures_expires_at", "login_failures", ["expires_at"])


def downgrade() -> None:
    op.drop_table("login_failures")
