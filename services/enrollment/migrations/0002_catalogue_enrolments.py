"""Catalogue (the seven contracted institutions, programmes, unit plans), read models, enrolments.

Revision ID: enrollment_0002
Revises: enrollment_0001
Create Date: 2026-11-25
"""

from datetime import datetime, UTC

import sqlalchemy as sa
from alembic import op

from servicekit.bus.envelope import Envelope

revision = "enrollment_0002"
down_revision = "enrollment_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("registration_start", sa.Date(), nullable=False),
        sa.Column("registration_end", sa.Date(), nullable=False),
        sa.Column("public_notice_days", sa.Integer(), nullable=False),
        sa.Column("dedicated_class_threshold", sa.Integer(), nullable=False),
        sa.Column("roster_lead_working_days", sa.Integer(), nullable=False),
        sa.Column("skills_federation_rate", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("skills_rate_overrides", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    op.create_table(
        "employees",
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.PrimaryKeyConstraint("employee_id"),
        sa.UniqueConstraint("resident_id"),
    )
    op.create_table(
        "institution_standings",
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("disqualified", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("institution_id"),
    )
    op.create_table(
        "institutions",
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("institution_id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.String(length=36), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("payment_id"),
    )
    op.create_index(op.f("ix_payments_enrolment_id"), "payments", ["enrolment_id"], unique=False)
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
        "programmes",
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("major", sa.String(length=100), nullable=True),
        sa.Column("trade", sa.String(length=100), nullable=True),
        sa.Column("teaching_sites", sa.JSON(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("on_site_teaching", sa.Boolean(), nullable=False),
        sa.Column("fee_tuition_or_training", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("fee_appraisal_exam", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("fee_textbook", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("fee_registration", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("fee_entrance_test", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('academic', 'skills')", name="ck_programme_kind"),
        sa.CheckConstraint("status IN ('draft', 'published')", name="ck_programme_status"),
        sa.CheckConstraint("fee_appraisal_exam >= 0", name="ck_programme_fee_appraisal_exam"),
        sa.CheckConstraint("fee_entrance_test >= 0", name="ck_programme_fee_entrance_test"),
        sa.CheckConstraint("fee_registration >= 0", name="ck_programme_fee_registration"),
        sa.CheckConstraint("fee_textbook >= 0", name="ck_programme_fee_textbook"),
        sa.CheckConstraint("fee_tuition_or_training >= 0", name="ck_programme_fee_tuition_or_training"),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.institution_id"],
        ),
        sa.PrimaryKeyConstraint("programme_id"),
    )
    op.create_index(op.f("ix_programmes_institution_id"), "programmes", ["institution_id"], unique=False)
    op.create_table(
        "enrolments",
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("grassroots_union_id", sa.String(length=64), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("education", sa.String(length=50), nullable=False),
        sa.Column("attestation", sa.Text(), nullable=False),
        sa.Column("nominated_by", sa.String(length=200), nullable=False),
        sa.Column("nominated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notice_start", sa.Date(), nullable=False),
        sa.Column("notice_end", sa.Date(), nullable=False),
        sa.Column("consent_method", sa.String(length=10), nullable=True),
        sa.Column("consent_on", sa.Date(), nullable=True),
        sa.Column("consent_recorded_by", sa.String(length=200), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("requested_on", sa.Date(), nullable=True),
        sa.Column("fees", sa.JSON(), nullable=True),
        sa.Column("subsidy_requested", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("refusal_reason", sa.String(length=50), nullable=True),
        sa.Column("refusal_detail", sa.Text(), nullable=True),
        sa.Column("entrance_test_on", sa.Date(), nullable=True),
        sa.Column("entrance_test_score", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("entrance_test_passed", sa.Boolean(), nullable=True),
        sa.Column("admitted_on", sa.Date(), nullable=True),
        sa.Column("payment_status", sa.String(length=10), nullable=True),
        sa.CheckConstraint(
            "consent_method IS NULL OR consent_method IN ('employee', 'written')", name="ck_enrolment_consent_method"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.campaign_id"],
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.employee_id"],
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.institution_id"],
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.programme_id"],
        ),
        sa.PrimaryKeyConstraint("enrolment_id"),
    )
    op.create_index(op.f("ix_enrolments_grassroots_union_id"), "enrolments", ["grassroots_union_id"], unique=False)
    op.create_index(op.f("ix_enrolments_institution_id"), "enrolments", ["institution_id"], unique=False)
    op.create_index(op.f("ix_enrolments_status"), "enrolments", ["status"], unique=False)
    op.create_index(op.f("ix_enrolments_unit_id"), "enrolments", ["unit_id"], unique=False)
    op.create_index(
        "ux_one_active_enrolment",
        "enrolments",
        ["campaign_id", "kind", "employee_id"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('refused', 'rejected', 'withdrawn')"),
        sqlite_where=sa.text("status NOT IN ('refused', 'rejected', 'withdrawn')"),
    )
    op.create_table(
        "plan_programmes",
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.programme_id"],
        ),
        sa.PrimaryKeyConstraint("unit_id", "campaign_id", "programme_id"),
    )
    op.create_table(
        "objections",
        sa.Column("objection_id", sa.String(length=36), nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('upheld', 'dismissed')", name="ck_objection_outcome"),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.enrolment_id"],
        ),
        sa.PrimaryKeyConstraint("objection_id"),
    )
    op.create_index(op.f("ix_objections_enrolment_id"), "objections", ["enrolment_id"], unique=False)
    _seed_contracted_institutions()


def downgrade() -> None:
    op.drop_index(op.f("ix_objections_enrolment_id"), table_name="objections")
    op.drop_table("objections")
    op.drop_table("plan_programmes")
    op.drop_index(
        "ux_one_active_enrolment",
        table_name="enrolments",
        postgresql_where=sa.text("status NOT IN ('refused', 'rejected', 'withdrawn')"),
        sqlite_where=sa.text("status NOT IN ('refused', 'rejected', 'withdrawn')"),
    )
    op.drop_index(op.f("ix_enrolments_unit_id"), table_name="enrolments")
    op.drop_index(op.f("ix_enrolments_status"), table_name="enrolments")
    op.drop_index(op.f("ix_enrolments_institution_id"), table_name="enrolments")
    op.drop_index(op.f("ix_enrolments_grassroots_union_id"), table_name="enrolments")
    op.drop_table("enrolments")
    op.drop_index(op.f("ix_programmes_institution_id"), table_name="programmes")
    op.drop_table("programmes")
    op.drop_table("units")
    op.drop_index(op.f("ix_payments_enrolment_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_table("institutions")
    op.drop_table("institution_standings")
    op.drop_table("employees")
    op.drop_table("campaigns")


# The seven institutions under the contracted operator 广州远程教育中心有限公司 (DOMAIN.md).
CONTRACTED_INSTITUTIONS = (
    ("GZ-ZGJY", "广州职工教育网"),
    ("GZ-GCJS", "广州工程技术职业学院"),
    ("GZ-SYG", "广州市工人文化宫（市一宫）"),
    ("GZ-SEG", "广州市羊城职工职业培训学院（市二宫）"),
    ("GZ-FCG", "广州市芳村工人文化宫"),
    ("GZ-YCG", "广州市员村工人文化宫"),
    ("GZ-ZGJS", "广州市职工技术交流中心（职工技协）"),
)


def _seed_contracted_institutions() -> None:
    """They exist from the start, announced through the outbox like any later registration."""
    institutions = sa.table("institutions", sa.column("institution_id"), sa.column("name"), sa.column("revision"))
    outbox = sa.table(
        "outbox",
        sa.column("event_id"),
        sa.column("type"),
        sa.column("body"),
        sa.column("created_at"),
        sa.column("attempts"),
    )
    now = datetime.now(UTC)
    events = [
        Envelope.new(
            "institution.registered", {"institution_id": code, "revision": 1, "name": name}, producer="enrollment"
        )
        for code, name in CONTRACTED_INSTITUTIONS
    ]
    op.bulk_insert(
        institutions, [{"institution_id": code, "name": name, "revision": 1} for code, name in CONTRACTED_INSTITUTIONS]
    )
    op.bulk_insert(
        outbox,
        [{"event_id": e.id, "type": e.type, "body": e.to_json(), "created_at": now, "attempts": 0} for e in events],
    )
