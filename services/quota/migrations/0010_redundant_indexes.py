"""Indexes that only repeated another's leading columns, dropped: every reservation and allocation line wrote them.

A reservation's unit is found by its keyset index (unit_id, id); an allocation's lines by the unique
(allocation_id, unit_id).

Revision ID: quota_0010
Revises: quota_0009
Create Date: 2026-12-06 08:20:00
"""

from servicekit.migrations import create_indexes, drop_indexes

revision = "quota_0010"
down_revision = "quota_0009"
branch_labels = None
depends_on = None

# (index, table, columns): each only repeats the leading columns of another index on its table.
REDUNDANT = (
    ("ix_allocation_lines_allocation_id", "allocation_lines", ["allocation_id"]),
    ("ix_reservations_unit_id", "reservations", ["unit_id"]),
)


def upgrade() -> None:
    drop_indexes(REDUNDANT)


def downgrade() -> None:
    create_indexes(REDUNDANT)
