"""The audit trail: audit_entries, written with each decision; PostgreSQL refuses UPDATE and DELETE on it.

Revision ID: finance_0008
Revises: finance_0007
Create Date: 2026-12-03
"""

from servicekit.audit import create_audit_table, drop_audit_table

revision = "finance_0008"
down_revision = "finance_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table()


def downgrade() -> None:
    drop_audit_table()
