"""Indexes for keyset paging: (sort key, id) per sort key of the service's lists (servicekit.paging).

Revision ID: evaluation_0008
Revises: evaluation_0007
Create Date: 2026-12-03
"""

from servicekit.migrations import create_keyset_indexes, drop_keyset_indexes

revision = "evaluation_0008"
down_revision = "evaluation_0007"
branch_labels = None
depends_on = None

INDEXES = (
    ("certificates", ("issued_on", "certificate_id")),
    ("certificates", ("number", "certificate_id")),
    ("exam_results", ("exam", "result_id")),
    ("exam_results", ("held_on", "result_id")),
    ("exam_results", ("recorded_at", "result_id")),
    ("inspections", ("inspected_on", "inspection_id")),
    ("surveys", ("closes_on", "survey_id")),
)


def upgrade() -> None:
    create_keyset_indexes(INDEXES)


def downgrade() -> None:
    drop_keyset_indexes(INDEXES)
