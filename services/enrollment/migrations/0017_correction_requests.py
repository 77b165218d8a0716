"""Employees' requests to correct their personal data (PIPL art. 46) and the decisions on them.

Revision ID: enrollment_0017
Revises: enrollment_0016
Create Date: 2026-12-03 15:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0017"
down_revision = "enrollment_0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correction_requests",
        sa.Column("request_id", sa.String(length=36), primary_key=True),
        sa.Column("employee_id", sa.String(length=64), sa.ForeignKey("employees.employee_id"), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("requested_value", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_role", sa.String(length=40), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("field IN ('name', 'phone', 'education')", name="ck_correction_field"),
        sa.CheckConstraint("state IN ('open', 'accepted', 'rejected')", name="ck_correction_state"),
    )
    op.create_index("ix_correction_requests_employee_id", "correction_requests", ["employee_id"])
    op.create_index("ix_page_correction_requests_requested_at", "correction_requests", ["requested_at", "request_id"])
    op.create_index(
        "ux_one_open_correction",
        "correction_requests",
        ["employee_id", "field"],
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
        sqlite_where=sa.text("state = 'open'"),
    )


def downgrade() -> None:
    op.drop_table("correction_requests")
