"""Saga waits (registration and transfer answers from quota get a deadline) and institutions' notices.

Revision ID: enrollment_0009
Revises: enrollment_0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from servicekit.migrations import create_saga_table, drop_saga_table

revision = "enrollment_0009"
down_revision = "enrollment_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_saga_table()
    # registrations and transfers already waiting for quota: their deadline runs from now
    op.execute(
        "INSERT INTO saga_waits (saga, item_id, waiting_since, asks, next_ask_at) "
        "SELECT 'registration', enrolment_id, CURRENT_TIMESTAMP, 0, CURRENT_TIMESTAMP "
        "FROM enrolments WHERE status = 'requested'"
    )
    op.execute(
        "INSERT INTO saga_waits (saga, item_id, waiting_since, asks, next_ask_at) "
        "SELECT 'transfer', change_id, CURRENT_TIMESTAMP, 0, CURRENT_TIMESTAMP "
        "FROM status_changes WHERE state = 'awaiting_quota'"
    )
    op.create_table(
        "institution_notices",
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("institution_id", "revision"),
    )
    op.create_index(op.f("ix_institution_notices_campaign_id"), "institution_notices", ["campaign_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_institution_notices_campaign_id"), table_name="institution_notices")
    op.drop_table("institution_notices")
    drop_saga_table()
