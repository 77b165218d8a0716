"""When the campaign was closed (quota's campaign.closed): HTTP writes to it are refused from then on; the
attendance summary an institution reports per student (for the training ledger).

Revision ID: enrollment_0016
Revises: enrollment_0015
Create Date: 2026-12-03 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0016"
down_revision = "enrollment_0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "attendance_summaries",
        sa.Column("enrolment_id", sa.String(36), sa.ForeignKey("enrolments.enrolment_id"), primary_key=True),
        sa.Column("hours_planned", sa.Integer(), nullable=False),
        sa.Column("hours_attended", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("reported_by", sa.String(200), nullable=False),
        sa.CheckConstraint("hours_attended >= 0 AND hours_attended <= hours_planned", name="ck_attendance_hours"),
    )


def downgrade() -> None:
    op.drop_table("attendance_summaries")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
