"""A skills transfer whose subsidy differs waits for quota (awaiting_quota, still the one open change).

Revision ID: enrollment_0006
Revises: enrollment_0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0006"
down_revision = "enrollment_0005"
branch_labels = None
depends_on = None

BEFORE = "state IN ('requested', 'unit_agreed')"
AFTER = "state IN ('requested', 'unit_agreed', 'awaiting_quota')"


def _one_open_change(where: str) -> None:
    op.drop_index("ux_one_open_status_change", table_name="status_changes")
    op.create_index(
        "ux_one_open_status_change",
        "status_changes",
        ["enrolment_id"],
        unique=True,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def upgrade() -> None:
    op.add_column("status_changes", sa.Column("subsidy_requested", sa.Numeric(precision=14, scale=2), nullable=True))
    op.add_column("status_changes", sa.Column("quota_revision", sa.Integer(), nullable=True))
    op.add_column("status_changes", sa.Column("refusal_reason", sa.String(length=50), nullable=True))
    op.add_column("status_changes", sa.Column("refusal_detail", sa.Text(), nullable=True))
    _one_open_change(AFTER)


def downgrade() -> None:
    _one_open_change(BEFORE)
    op.drop_column("status_changes", "refusal_detail")
    op.drop_column("status_changes", "refusal_reason")
    op.drop_column("status_changes", "quota_revision")
    op.drop_column("status_changes", "subsidy_requested")
