"""Refresh tokens' session_ends_at: a login ends at this time however often it is refreshed.

Revision ID: gateway_0004
Revises: gateway_0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0004"
down_revision = "gateway_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Logins made before it end when their refresh token does (no further refresh is granted past it).
    op.add_column("refresh_tokens", sa.Column("session_ends_at", sa.Integer()))
    op.execute("UPDATE refresh_tokens SET session_ends_at = expires_at")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.alter_column("session_ends_at", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("session_ends_at")
