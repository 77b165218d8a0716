"""Indexes for keyset paging: (sort key, id) per sort key of the service's lists (servicekit.paging).

Revision ID: enrollment_0010
Revises: enrollment_0009
Create Date: 2026-12-03
"""

from servicekit.migrations import create_keyset_indexes, drop_keyset_indexes

revision = "enrollment_0010"
down_revision = "enrollment_0009"
branch_labels = None
depends_on = None

INDEXES = (
    ("classes", ("opens_on", "class_id")),
    ("classes", ("status", "class_id")),
    ("enrolments", ("nominated_at", "enrolment_id")),
    ("enrolments", ("notice_end", "enrolment_id")),
    ("enrolments", ("status", "enrolment_id")),
    ("institution_notices", ("decided_at", "institution_id", "revision")),
    ("institutions", ("name", "institution_id")),
    ("programmes", ("name", "programme_id")),
    ("programmes", ("start_date", "programme_id")),
    ("status_changes", ("requested_at", "change_id")),
    ("saga_waits", ("waiting_since", "saga", "item_id")),
)


def upgrade() -> None:
    create_keyset_indexes(INDEXES)


def downgrade() -> None:
    drop_keyset_indexes(INDEXES)
