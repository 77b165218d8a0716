"""The audit trail: audit_entries, written with each decision; PostgreSQL refuses UPDATE and DELETE on it.

Revision ID: gateway_0006
Revises: gateway_0005
Create Date: 2026-12-03
"""

from servicekit.audit import create_audit_table, drop_audit_table

revision = "gateway_0006"
down_revision = "gateway_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table()


def downgrade() -> None:
    drop_audit_table()
