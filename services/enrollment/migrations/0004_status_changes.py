"""Status changes (withdrawal, transfer, change of major) and the withdrawal date.

Revision ID: enrollment_0004
Revises: enrollment_0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0004"
down_revision = "enrollment_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_changes",
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("to_programme_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_decision_by", sa.String(length=200), nullable=True),
        sa.Column("federation_decision_by", sa.String(length=200), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.CheckConstraint("kind = 'withdrawal' OR to_programme_id IS NOT NULL", name="ck_status_change_target"),
        sa.CheckConstraint("kind IN ('withdrawal', 'transfer', 'major_change')", name="ck_status_change_kind"),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.enrolment_id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_programme_id"],
            ["programmes.programme_id"],
        ),
        sa.PrimaryKeyConstraint("change_id"),
    )
    op.create_index(op.f("ix_status_changes_enrolment_id"), "status_changes", ["enrolment_id"], unique=False)
    op.create_index(
        "ux_one_open_status_change",
        "status_changes",
        ["enrolment_id"],
        unique=True,
        postgresql_where=sa.text("state IN ('requested', 'unit_agreed')"),
        sqlite_where=sa.text("state IN ('requested', 'unit_agreed')"),
    )
    op.add_column("enrolments", sa.Column("withdrawn_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("enrolments", "withdrawn_on")
    op.drop_index(
        "ux_one_open_status_change",
        table_name="status_changes",
        postgresql_where=sa.text("state IN ('requested', 'unit_agreed')"),
        sqlite_where=sa.text("state IN ('requested', 'unit_agreed')"),
    )
    op.drop_index(op.f("ix_status_changes_enrolment_id"), table_name="status_changes")
    op.drop_table("status_changes")
