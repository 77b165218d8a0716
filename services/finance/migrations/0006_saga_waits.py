"""Saga waits: a certificate for an enrolment finance has not heard of waits for its facts, with a deadline.

Revision ID: finance_0006
Revises: finance_0005
Create Date: 2026-11-27
"""

from servicekit.migrations import create_saga_table, drop_saga_table

revision = "finance_0006"
down_revision = "finance_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_saga_table()


def downgrade() -> None:
    drop_saga_table()
