"""Finance tables: read models, policies, breakdowns, payments, transfers, reimbursements, ledger.

Revision ID: finance_0002
Revises: finance_0001
Create Date: 2026-11-25 20:49:49.633917
"""

from alembic import op
import sqlalchemy as sa


revision = "finance_0002"
down_revision = "finance_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=12), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=True),
        sa.Column("balance", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.CheckConstraint(
            "type NOT IN ('pool', 'earmarked', 'payable') OR balance >= 0", name="ck_account_not_negative"
        ),
        sa.PrimaryKeyConstraint("account_id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_accounts_campaign_id"), "accounts", ["campaign_id"], unique=False)
    op.create_table(
        "allocations",
        sa.Column("allocation_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("academic_seats", sa.Integer(), nullable=False),
        sa.Column("skills_money", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("allocation_id"),
    )
    op.create_index(op.f("ix_allocations_campaign_id"), "allocations", ["campaign_id"], unique=False)
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("academic_fund", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("skills_fund", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("academic_subsidy", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("skills_federation_rate", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("skills_rate_overrides", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    op.create_table(
        "certificates",
        sa.Column("certificate_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("status_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("certificate_id"),
    )
    op.create_index(op.f("ix_certificates_enrolment_id"), "certificates", ["enrolment_id"], unique=False)
    op.create_table(
        "enrolments",
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("grassroots_union_id", sa.String(length=64), nullable=True),
        sa.Column("programme_id", sa.String(length=64), nullable=True),
        sa.Column("trade", sa.String(length=100), nullable=True),
        sa.Column("employee_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("enrolment_id"),
    )
    op.create_index(op.f("ix_enrolments_campaign_id"), "enrolments", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_enrolments_employee_id"), "enrolments", ["employee_id"], unique=False)
    op.create_index(op.f("ix_enrolments_institution_id"), "enrolments", ["institution_id"], unique=False)
    op.create_index(op.f("ix_enrolments_unit_id"), "enrolments", ["unit_id"], unique=False)
    op.create_table(
        "postings",
        sa.Column(
            "posting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("cause", sa.String(length=160), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("posting_id"),
        sa.UniqueConstraint("cause"),
    )
    op.create_index(op.f("ix_postings_enrolment_id"), "postings", ["enrolment_id"], unique=False)
    op.create_table(
        "programmes",
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("major", sa.String(length=100), nullable=True),
        sa.Column("trade", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("programme_id"),
    )
    op.create_table(
        "transfers",
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("cause", sa.String(length=120), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("transferred_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_transfer_amount"),
        sa.PrimaryKeyConstraint("transfer_id"),
        sa.UniqueConstraint("cause"),
    )
    op.create_index(op.f("ix_transfers_campaign_id"), "transfers", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_transfers_unit_id"), "transfers", ["unit_id"], unique=False)
    op.create_table(
        "unit_policies",
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("academic_mode", sa.String(length=12), nullable=False),
        sa.Column("academic_value", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("skills_unit_rate", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("unit_share_timing", sa.String(length=20), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("unit_id"),
    )
    op.create_table(
        "units",
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("unit_id"),
    )
    op.create_table(
        "breakdowns",
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("federation", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("unit", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("employee", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("payment_status", sa.String(length=10), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("federation + unit + employee = total", name="ck_breakdown_shares_sum"),
        sa.CheckConstraint("paid >= 0", name="ck_breakdown_paid"),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.enrolment_id"],
        ),
        sa.PrimaryKeyConstraint("enrolment_id"),
    )
    op.create_table(
        "entries",
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("posting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["postings.posting_id"],
        ),
        sa.CheckConstraint("amount <> 0", name="ck_entry_not_zero"),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_index(op.f("ix_entries_account_id"), "entries", ["account_id"], unique=False)
    op.create_index(op.f("ix_entries_posting_id"), "entries", ["posting_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.String(length=36), nullable=False),
        sa.Column("cause", sa.String(length=120), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.enrolment_id"],
        ),
        sa.CheckConstraint("amount > 0", name="ck_payment_amount"),
        sa.PrimaryKeyConstraint("payment_id"),
        sa.UniqueConstraint("cause"),
    )
    op.create_index(op.f("ix_payments_enrolment_id"), "payments", ["enrolment_id"], unique=False)
    op.create_table(
        "reimbursements",
        sa.Column("reimbursement_id", sa.String(length=36), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("share", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("certificate_id", sa.String(length=36), nullable=True),
        sa.Column("certificate_revoked", sa.Boolean(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("bank_name", sa.String(length=100), nullable=True),
        sa.Column("bank_account", sa.String(length=40), nullable=True),
        sa.Column("paid_by", sa.String(length=100), nullable=True),
        sa.Column("payment_cause", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_reimbursement_amount"),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.enrolment_id"],
        ),
        sa.PrimaryKeyConstraint("reimbursement_id"),
        sa.UniqueConstraint("enrolment_id", "share", name="uq_reimbursement_share"),
    )
    op.create_table(
        "breakdown_lines",
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("line", sa.String(length=30), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("federation", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("unit", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("employee", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.CheckConstraint("federation + unit + employee = amount", name="ck_line_shares_sum"),
        sa.CheckConstraint("federation >= 0 AND unit >= 0 AND employee >= 0", name="ck_line_shares_non_negative"),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["breakdowns.enrolment_id"],
        ),
        sa.PrimaryKeyConstraint("enrolment_id", "line"),
    )


def downgrade() -> None:
    op.drop_table("breakdown_lines")
    op.drop_table("reimbursements")
    op.drop_index(op.f("ix_payments_enrolment_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_entries_posting_id"), table_name="entries")
    op.drop_index(op.f("ix_entries_account_id"), table_name="entries")
    op.drop_table("entries")
    op.drop_table("breakdowns")
    op.drop_table("units")
    op.drop_table("unit_policies")
    op.drop_index(op.f("ix_transfers_unit_id"), table_name="transfers")
    op.drop_index(op.f("ix_transfers_campaign_id"), table_name="transfers")
    op.drop_table("transfers")
    op.drop_table("programmes")
    op.drop_index(op.f("ix_postings_enrolment_id"), table_name="postings")
    op.drop_table("postings")
    op.drop_index(op.f("ix_enrolments_unit_id"), table_name="enrolments")
    op.drop_index(op.f("ix_enrolments_institution_id"), table_name="enrolments")
    op.drop_index(op.f("ix_enrolments_employee_id"), table_name="enrolments")
    op.drop_index(op.f("ix_enrolments_campaign_id"), table_name="enrolments")
    op.drop_table("enrolments")
    op.drop_index(op.f("ix_certificates_enrolment_id"), table_name="certificates")
    op.drop_table("certificates")
    op.drop_table("campaigns")
    op.drop_index(op.f("ix_allocations_campaign_id"), table_name="allocations")
    op.drop_table("allocations")
    op.drop_index(op.f("ix_accounts_campaign_id"), table_name="accounts")
    op.drop_table("accounts")
