"""The audit trail: audit_entries, written with each decision; PostgreSQL refuses UPDATE and DELETE on it.

Revision ID: gateway_0004
Revises: gateway_0003
Create Date: 2026-12-03
"""

from servicekit.audit import create_audit_table, drop_audit_table

revision = "gateway_0004"
down_revision = "gateway_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table()


def downgrade() -> None:
    drop_audit_table()
