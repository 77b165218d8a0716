"""The index on status alone, dropped: its keyset index (status, enrolment_id) answers every status query, and each
status change (two a registration) wrote both.

Revision ID: enrollment_0024
Revises: enrollment_0023
Create Date: 2026-12-06 08:20:00
"""

from servicekit.migrations import create_indexes, drop_indexes

revision = "enrollment_0024"
down_revision = "enrollment_0023"
branch_labels = None
depends_on = None

# (index, table, columns): each only repeats the leading columns of another index on its table.
REDUNDANT = (("ix_enrolments_status", "enrolments", ["status"]),)


def upgrade() -> None:
    drop_indexes(REDUNDANT)


def downgrade() -> None:
    create_indexes(REDUNDANT)
