"""The audit trail: audit_entries, written with each decision; PostgreSQL refuses UPDATE and DELETE on it.

Revision ID: enrollment_0012
Revises: enrollment_0011
Create Date: 2026-12-03
"""

from servicekit.audit import create_audit_table, drop_audit_table

revision = "enrollment_0012"
down_revision = "enrollment_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table()


def downgrade() -> None:
    drop_audit_table()
