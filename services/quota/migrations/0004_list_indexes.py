"""Indexes for keyset paging: (sort key, id) per sort key of the service's lists (servicekit.paging).

Revision ID: quota_0004
Revises: quota_0003
Create Date: 2026-12-03
"""

from servicekit.migrations import create_keyset_indexes, drop_keyset_indexes

revision = "quota_0004"
down_revision = "quota_0003"
branch_labels = None
depends_on = None

INDEXES = (
    ("allocation_changes", ("changed_at", "id")),
    ("allocation_changes", ("unit_id", "id")),
    ("campaigns", ("created_at", "id")),
    ("campaigns", ("name", "id")),
    ("campaigns", ("year", "id")),
    ("reservations", ("unit_id", "id")),
    ("reservations", ("updated_at", "id")),
    ("units", ("headcount", "id")),
    ("units", ("level", "id")),
    ("units", ("name", "id")),
    ("units", ("updated_at", "id")),
)


def upgrade() -> None:
    create_keyset_indexes(INDEXES)


def downgrade() -> None:
    drop_keyset_indexes(INDEXES)
