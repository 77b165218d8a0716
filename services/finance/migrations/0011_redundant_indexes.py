"""Indexes that only repeated another's leading columns, dropped: an enrolment's charges are found by the unique
(enrolment_id, reference), a reimbursement's recoveries by the unique (reimbursement_id, certificate_id).

Revision ID: finance_0011
Revises: finance_0010
Create Date: 2026-12-06 08:20:00
"""

from servicekit.migrations import create_indexes, drop_indexes

revision = "finance_0011"
down_revision = "finance_0010"
branch_labels = None
depends_on = None

# (index, table, columns): each only repeats the leading columns of another index on its table.
REDUNDANT = (
    ("ix_charges_enrolment_id", "charges", ["enrolment_id"]),
    ("ix_recoveries_reimbursement_id", "recoveries", ["reimbursement_id"]),
)


def upgrade() -> None:
    drop_indexes(REDUNDANT)


def downgrade() -> None:
    create_indexes(REDUNDANT)
