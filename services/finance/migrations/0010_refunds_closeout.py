"""Refunds after a withdrawal: the campaign's refund rule, each refund, and when an enrolment was admitted;
when a campaign was closed.

Revision ID: finance_0010
Revises: finance_0009
Create Date: 2026-12-03 15:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = "finance_0010"
down_revision = "finance_0009"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admitted_on", sa.Date(), nullable=True))
    op.execute("UPDATE enrolments SET admitted_on = status_on WHERE status = 'admitted'")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "refund_policies",
        sa.Column("campaign_id", sa.String(36), primary_key=True),
        sa.Column("fractions", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "refunds",
        sa.Column("refund_id", sa.String(36), primary_key=True),
        sa.Column("enrolment_id", sa.String(36), sa.ForeignKey("enrolments.enrolment_id"), nullable=False, unique=True),
        sa.Column("cause", sa.String(120), nullable=False, unique=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("exam_taken", sa.Boolean(), nullable=False),
        sa.Column("textbooks_issued", sa.Boolean(), nullable=False),
        sa.Column("refunded", MONEY, nullable=False),
        sa.Column("to_federation", MONEY, nullable=False),
        sa.Column("to_unit", MONEY, nullable=False),
        sa.Column("to_employee", MONEY, nullable=False),
        sa.Column("left_to_recover", MONEY, nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("refunded_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("to_federation + to_unit + to_employee = refunded", name="ck_refund_destinations_sum"),
        sa.CheckConstraint(
            "refunded >= 0 AND to_federation >= 0 AND to_unit >= 0 AND to_employee >= 0 AND left_to_recover >= 0",
            name="ck_refund_not_negative",
        ),
    )


def downgrade() -> None:
    op.drop_table("refunds")
    op.drop_table("refund_policies")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_column("admitted_on")
