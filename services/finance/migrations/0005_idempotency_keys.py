"""Idempotency keys per caller for money-moving requests (servicekit.idempotency), replacing the
de-duplication by X-Request-ID.

Revision ID: finance_0005
Revises: finance_0004
Create Date: 2026-11-28
"""

from alembic import op

from servicekit.migrations import create_idempotency_table

revision = "finance_0005"
down_revision = "finance_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    op.drop_table("idempotency_keys")
