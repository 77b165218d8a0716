"""users.last_login_at: the last password login, so the next one can say what changed since (the portal's 工作台).

Revision ID: gateway_0008
Revises: gateway_0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0008"
down_revision = "gateway_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "last_login_at")
