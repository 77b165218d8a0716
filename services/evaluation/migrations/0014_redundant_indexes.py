"""Indexes that only repeated another's leading columns, dropped: an enrolment's results are found by the unique
(enrolment_id, exam, attempt), an institution's notices by the unique (institution_id, revision); each result
published wrote the extra one.

Revision ID: evaluation_0014
Revises: evaluation_0013
Create Date: 2026-12-06 08:20:00
"""

from servicekit.migrations import create_indexes, drop_indexes

revision = "evaluation_0014"
down_revision = "evaluation_0013"
branch_labels = None
depends_on = None

# (index, table, columns): each only repeats the leading columns of another index on its table.
REDUNDANT = (
    ("ix_exam_results_enrolment_id", "exam_results", ["enrolment_id"]),
    ("ix_notices_institution_id", "notices", ["institution_id"]),
)


def upgrade() -> None:
    drop_indexes(REDUNDANT)


def downgrade() -> None:
    create_indexes(REDUNDANT)
