"""Indexes for keyset paging: (sort key, id) per sort key of the service's lists (servicekit.paging).

Revision ID: finance_0007
Revises: finance_0006
Create Date: 2026-12-03
"""

from servicekit.migrations import create_keyset_indexes, drop_keyset_indexes

revision = "finance_0007"
down_revision = "finance_0006"
branch_labels = None
depends_on = None

INDEXES = (
    ("accounts", ("code", "account_id")),
    ("breakdowns", ("computed_at", "enrolment_id")),
    ("payments", ("amount", "payment_id")),
    ("payments", ("paid_on", "payment_id")),
    ("payments", ("recorded_at", "payment_id")),
    ("reimbursements", ("amount", "reimbursement_id")),
    ("reimbursements", ("created_at", "reimbursement_id")),
    ("transfers", ("amount", "transfer_id")),
    ("transfers", ("recorded_at", "transfer_id")),
    ("transfers", ("transferred_on", "transfer_id")),
    ("saga_waits", ("waiting_since", "saga", "item_id")),
)


def upgrade() -> None:
    create_keyset_indexes(INDEXES)


def downgrade() -> None:
    drop_keyset_indexes(INDEXES)
