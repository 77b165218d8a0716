"""Campaigns, organisation units, allocations with their audit trail, reservations.

Revision ID: quota_0002
Revises: quota_0001
Create Date: 2026-11-25 20:45:46.029263
"""

from alembic import op
import sqlalchemy as sa


revision = "quota_0002"
down_revision = "quota_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("academic_pool", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("skills_pool", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("academic_subsidy_per_student", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("skills_federation_rate", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("skills_rate_overrides", sa.JSON(), nullable=False),
        sa.Column("key_industry_weight", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("registration_start", sa.Date(), nullable=False),
        sa.Column("registration_end", sa.Date(), nullable=False),
        sa.Column("study_start", sa.Date(), nullable=False),
        sa.Column("study_end", sa.Date(), nullable=False),
        sa.Column("exams_from", sa.Date(), nullable=False),
        sa.Column("dedicated_class_threshold", sa.Integer(), nullable=False),
        sa.Column("public_notice_days", sa.Integer(), nullable=False),
        sa.Column("roster_lead_working_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'published')", name="ck_campaign_status"),
        sa.CheckConstraint("academic_pool >= 0 AND skills_pool >= 0", name="ck_campaign_pools"),
        sa.CheckConstraint("academic_subsidy_per_student > 0", name="ck_campaign_subsidy"),
        sa.CheckConstraint(
            "registration_start <= registration_end AND study_start <= study_end", name="ck_campaign_windows"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("key_industry", sa.Boolean(), nullable=False),
        sa.Column("key_industry_weight", sa.Numeric(precision=6, scale=4), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(level = 'grassroots') = (category = 'grassroots')", name="ck_unit_category"),
        sa.CheckConstraint("(level = 'grassroots') = (parent_id IS NOT NULL)", name="ck_unit_parent"),
        sa.CheckConstraint("headcount >= 0", name="ck_unit_headcount"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "allocations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'published')", name="ck_allocation_status"),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id"),
    )
    op.create_table(
        "allocation_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("allocation_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("old_seats", sa.Integer(), nullable=False),
        sa.Column("new_seats", sa.Integer(), nullable=False),
        sa.Column("old_money", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("new_money", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["allocations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("allocation_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allocation_changes_allocation_id"), ["allocation_id"], unique=False)

    op.create_table(
        "allocation_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("allocation_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("key_industry", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("academic_seats", sa.Integer(), nullable=False),
        sa.Column("skills_money", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("seats_reserved", sa.Integer(), nullable=False),
        sa.Column("seats_consumed", sa.Integer(), nullable=False),
        sa.Column("seats_spent", sa.Integer(), nullable=False),
        sa.Column("seats_released", sa.Integer(), nullable=False),
        sa.Column("money_reserved", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("money_consumed", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("money_spent", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("money_released", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.CheckConstraint("academic_seats >= 0 AND skills_money >= 0", name="ck_line_allocated"),
        sa.CheckConstraint("money_reserved + money_consumed + money_spent <= skills_money", name="ck_line_money_fits"),
        sa.CheckConstraint(
            "money_reserved >= 0 AND money_consumed >= 0 AND money_spent >= 0 AND money_released >= 0",
            name="ck_line_money_counters",
        ),
        sa.CheckConstraint("seats_reserved + seats_consumed + seats_spent <= academic_seats", name="ck_line_seats_fit"),
        sa.CheckConstraint(
            "seats_reserved >= 0 AND seats_consumed >= 0 AND seats_spent >= 0 AND seats_released >= 0",
            name="ck_line_seat_counters",
        ),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["allocations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("allocation_id", "unit_id", name="uq_allocation_line_unit"),
    )
    with op.batch_alter_table("allocation_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allocation_lines_allocation_id"), ["allocation_id"], unique=False)

    op.create_table(
        "reservations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("refusal_reason", sa.String(length=40), nullable=True),
        sa.Column("line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('academic', 'skills')", name="ck_reservation_kind"),
        sa.CheckConstraint(
            "status IN ('pending', 'reserved', 'consumed', 'spent', 'released', 'refused')",
            name="ck_reservation_status",
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["allocation_lines.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enrolment_id"),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reservations_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reservations_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservations_unit_id"))
        batch_op.drop_index(batch_op.f("ix_reservations_campaign_id"))

    op.drop_table("reservations")
    with op.batch_alter_table("allocation_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocation_lines_allocation_id"))

    op.drop_table("allocation_lines")
    with op.batch_alter_table("allocation_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocation_changes_allocation_id"))

    op.drop_table("allocation_changes")
    op.drop_table("allocations")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_parent_id"))

    op.drop_table("units")
    op.drop_table("campaigns")
