"""Read models from events; exam results with their batches; certificates.

Revision ID: evaluation_0002
Revises: evaluation_0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0002"
down_revision = "evaluation_0001"
branch_labels = None
depends_on = None

ID, CODE, MONEY = sa.String(36), sa.String(64), sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", ID, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("exams_from", sa.Date, nullable=False),
        sa.Column("roster_lead_working_days", sa.Integer, nullable=False),
    )
    op.create_table(
        "institutions",
        sa.Column("institution_id", CODE, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
    )
    op.create_table(
        "programmes",
        sa.Column("programme_id", CODE, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("institution_id", CODE, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("major", sa.String(100)),
        sa.Column("trade", sa.String(100)),
        sa.Column("start_date", sa.Date, nullable=False),
    )
    op.create_table(
        "enrolments",
        sa.Column("enrolment_id", ID, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("unit_id", CODE, nullable=False),
        sa.Column("institution_id", CODE, nullable=False, index=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("programme_id", CODE),
        sa.Column("trade", sa.String(100)),
        sa.Column("employee_id", CODE, index=True),
    )
    op.create_table(
        "classes",
        sa.Column("class_id", ID, primary_key=True),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("institution_id", CODE, nullable=False, index=True),
        sa.Column("programme_id", CODE, nullable=False),
        sa.Column("dedicated", sa.Boolean, nullable=False),
        sa.Column("opens_on", sa.Date, nullable=False),
        sa.Column("student_count", sa.Integer, nullable=False),
        sa.Column("roster_submitted_on", sa.Date),
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", ID, primary_key=True),
        sa.Column("enrolment_id", ID, nullable=False, index=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
    )
    op.create_table(
        "reimbursements",
        sa.Column("reimbursement_id", ID, primary_key=True),
        sa.Column("enrolment_id", ID, nullable=False, index=True),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("share", sa.String(12), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
    )
    op.create_table(
        "fund_transfers",
        sa.Column("transfer_id", ID, primary_key=True),
        sa.Column("campaign_id", ID, nullable=False, index=True),
        sa.Column("unit_id", CODE, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("transferred_on", sa.Date, nullable=False),
    )
    op.create_table(
        "result_batches",
        sa.Column("institution_id", CODE, primary_key=True),
        sa.Column("idempotency_key", sa.String(100), primary_key=True),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "exam_results",
        sa.Column("result_id", ID, primary_key=True),
        sa.Column("enrolment_id", ID, sa.ForeignKey("enrolments.enrolment_id"), nullable=False, index=True),
        sa.Column("institution_id", CODE, nullable=False),
        sa.Column("exam", sa.String(200), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("score", sa.Numeric(7, 2), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("retake", sa.String(20)),
        sa.Column("batch_key", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("enrolment_id", "exam", "attempt", name="uq_exam_results_attempt"),
        sa.UniqueConstraint("enrolment_id", "exam", "held_on", name="uq_exam_results_sitting"),
        sa.CheckConstraint("attempt >= 1", name="ck_exam_results_attempt"),
    )
    op.create_table(
        "certificates",
        sa.Column("certificate_id", ID, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("institution_id", CODE, nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("enrolment_id", ID, sa.ForeignKey("enrolments.enrolment_id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("revoked_on", sa.Date),
        sa.Column("revocation_reason", sa.String(500)),
        sa.Column("revoked_by", sa.String(200)),
        sa.UniqueConstraint("institution_id", "number", name="uq_certificates_number"),
    )
    op.create_index(
        "uq_certificates_valid_enrolment",
        "certificates",
        ["enrolment_id"],
        unique=True,
        postgresql_where=sa.text("revoked_on IS NULL"),
        sqlite_where=sa.text("revoked_on IS NULL"),
    )


def downgrade() -> None:
    for table in (
        "certificates",
        "exam_results",
        "result_batches",
        "fund_transfers",
        "reimbursements",
        "payments",
        "classes",
        "enrolments",
        "programmes",
        "institutions",
        "campaigns",
    ):
        op.drop_table(table)
