"""Class history: every class an enrolment was placed in, until when, and why it ended.

Revision ID: enrollment_0008
Revises: enrollment_0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0008"
down_revision = "enrollment_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "class_placements",
        sa.Column("placement_id", sa.String(length=36), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("ended_by", sa.String(length=20), nullable=True),
        sa.CheckConstraint("(left_on IS NULL) = (ended_by IS NULL)", name="ck_class_placement_ended"),
        sa.CheckConstraint(
            "ended_by IS NULL OR ended_by IN ('retake', 'transfer', 'withdrawal')", name="ck_class_placement_ended_by"
        ),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.class_id"],
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.enrolment_id"],
        ),
        sa.PrimaryKeyConstraint("placement_id"),
    )
    op.create_index(op.f("ix_class_placements_enrolment_id"), "class_placements", ["enrolment_id"], unique=False)
    op.create_index(
        "ux_one_current_class",
        "class_placements",
        ["enrolment_id"],
        unique=True,
        postgresql_where=sa.text("left_on IS NULL"),
        sqlite_where=sa.text("left_on IS NULL"),
    )
    # classes formed before this revision: their current students, placed on the day the class was formed is
    # unknown, so the roster's submission (or the opening day) stands in for it
    op.execute(
        "INSERT INTO class_placements (placement_id, enrolment_id, class_id, placed_on) "
        "SELECT e.enrolment_id, e.enrolment_id, e.class_id, COALESCE(c.roster_submitted_on, c.opens_on) "
        "FROM enrolments e JOIN classes c ON c.class_id = e.class_id"
    )


def downgrade() -> None:
    op.drop_index(
        "ux_one_current_class",
        table_name="class_placements",
        postgresql_where=sa.text("left_on IS NULL"),
        sqlite_where=sa.text("left_on IS NULL"),
    )
    op.drop_index(op.f("ix_class_placements_enrolment_id"), table_name="class_placements")
    op.drop_table("class_placements")
