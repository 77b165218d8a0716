"""Users' tokens_valid_after: access tokens issued before it are refused (gateway.revocations).

Revision ID: gateway_0002
Revises: gateway_0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0002"
down_revision = "gateway_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("tokens_valid_after", sa.DateTime(timezone=True)))
    op.create_index("ix_users_tokens_valid_after", "users", ["tokens_valid_after"])


def downgrade() -> None:
    op.drop_index("ix_users_tokens_valid_after", "users")
    op.drop_column("users", "tokens_valid_after")
