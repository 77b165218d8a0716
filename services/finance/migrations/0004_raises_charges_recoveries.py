"""Breakdown revisions (announced by breakdown.settled), employee-only extra charges, skills rate raises
within the surplus, recoveries of shares paid before a certificate was revoked.

Revision ID: finance_0004
Revises: finance_0003
Create Date: 2026-11-25 22:51:03.239127
"""

from alembic import op
import sqlalchemy as sa


revision = "finance_0004"
down_revision = "finance_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_raises",
        sa.Column("raise_id", sa.String(length=36), nullable=False),
        sa.Column("cause", sa.String(length=120), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("trade", sa.String(length=100), nullable=False),
        sa.Column("rate_before", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("rate_after", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("extra_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("enrolments", sa.Integer(), nullable=False),
        sa.Column("surplus_before", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("surplus_after", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("raised_by", sa.String(length=100), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rate_after > rate_before AND rate_after <= 1", name="ck_raise_rate"),
        sa.CheckConstraint(
            "surplus_after = surplus_before - extra_cost AND surplus_after >= 0", name="ck_raise_within_surplus"
        ),
        sa.PrimaryKeyConstraint("raise_id"),
        sa.UniqueConstraint("cause"),
    )
    op.create_index(op.f("ix_rate_raises_campaign_id"), "rate_raises", ["campaign_id"], unique=False)
    op.create_table(
        "charges",
        sa.Column("charge_id", sa.String(length=36), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("line", sa.String(length=30), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("charged_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_charge_amount"),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.enrolment_id"],
        ),
        sa.PrimaryKeyConstraint("charge_id"),
        sa.UniqueConstraint("enrolment_id", "reference", name="uq_charge_reference"),
    )
    op.create_index(op.f("ix_charges_enrolment_id"), "charges", ["enrolment_id"], unique=False)
    op.create_table(
        "recoveries",
        sa.Column("recovery_id", sa.String(length=36), nullable=False),
        sa.Column("reimbursement_id", sa.String(length=36), nullable=False),
        sa.Column("certificate_id", sa.String(length=36), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("recovered_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_recovery_amount"),
        sa.ForeignKeyConstraint(
            ["reimbursement_id"],
            ["reimbursements.reimbursement_id"],
        ),
        sa.PrimaryKeyConstraint("recovery_id"),
        sa.UniqueConstraint("reimbursement_id", "certificate_id", name="uq_recovery_once"),
    )
    op.create_index(op.f("ix_recoveries_reimbursement_id"), "recoveries", ["reimbursement_id"], unique=False)
    # breakdowns settled before this revision count as settled once
    op.add_column("breakdowns", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    op.drop_column("breakdowns", "revision")
    op.drop_index(op.f("ix_recoveries_reimbursement_id"), table_name="recoveries")
    op.drop_table("recoveries")
    op.drop_index(op.f("ix_charges_enrolment_id"), table_name="charges")
    op.drop_table("charges")
    op.drop_index(op.f("ix_rate_raises_campaign_id"), table_name="rate_raises")
    op.drop_table("rate_raises")
