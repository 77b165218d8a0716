"""The audit trail: audit_entries, written with each decision; PostgreSQL refuses UPDATE and DELETE on it.

Revision ID: quota_0005
Revises: quota_0004
Create Date: 2026-12-03
"""

from servicekit.audit import create_audit_table, drop_audit_table

revision = "quota_0005"
down_revision = "quota_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table()


def downgrade() -> None:
    drop_audit_table()
