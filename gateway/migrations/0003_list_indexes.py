"""Indexes for keyset paging: (sort key, id) per sort key of the service's lists (servicekit.paging).

Revision ID: gateway_0003
Revises: gateway_0002
Create Date: 2026-12-03
"""

from servicekit.migrations import create_keyset_indexes, drop_keyset_indexes

revision = "gateway_0003"
down_revision = "gateway_0002"
branch_labels = None
depends_on = None

INDEXES = (
    ("users", ("created_at", "id")),
    ("users", ("username", "id")),
)


def upgrade() -> None:
    create_keyset_indexes(INDEXES)


def downgrade() -> None:
    drop_keyset_indexes(INDEXES)
