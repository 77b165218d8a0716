"""What the ledger learns from evaluation and finance (exam results, certificates, reimbursements); retakes.

Revision ID: enrollment_0005
Revises: enrollment_0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0005"
down_revision = "enrollment_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("certificate_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("certificate_id"),
    )
    op.create_index(op.f("ix_certificates_enrolment_id"), "certificates", ["enrolment_id"], unique=False)
    op.create_table(
        "exam_results",
        sa.Column("result_id", sa.String(length=36), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("exam", sa.String(length=200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("score", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("result_id"),
    )
    op.create_index(op.f("ix_exam_results_enrolment_id"), "exam_results", ["enrolment_id"], unique=False)
    op.create_table(
        "reimbursements",
        sa.Column("reimbursement_id", sa.String(length=36), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("share", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("reimbursement_id"),
    )
    op.create_index(op.f("ix_reimbursements_enrolment_id"), "reimbursements", ["enrolment_id"], unique=False)
    op.add_column("enrolments", sa.Column("retaking", sa.Boolean(), server_default=sa.text("false"), nullable=False))


def downgrade() -> None:
    op.drop_column("enrolments", "retaking")
    op.drop_index(op.f("ix_reimbursements_enrolment_id"), table_name="reimbursements")
    op.drop_table("reimbursements")
    op.drop_index(op.f("ix_exam_results_enrolment_id"), table_name="exam_results")
    op.drop_table("exam_results")
    op.drop_index(op.f("ix_certificates_enrolment_id"), table_name="certificates")
    op.drop_table("certificates")
