"""The signed requests of machine clients and their outcome, for the institution's IT staff (kept 30 days).

Revision ID: gateway_0010
Revises: gateway_0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from servicekit.migrations import create_keyset_indexes

revision = "gateway_0010"
down_revision = "gateway_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "machine_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["machine_clients.key_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_keyset_indexes((("machine_requests", ("at", "id")),))
    op.create_index("ix_machine_requests_key_id_at", "machine_requests", ["key_id", "at"])


def downgrade() -> None:
    op.drop_table("machine_requests")
