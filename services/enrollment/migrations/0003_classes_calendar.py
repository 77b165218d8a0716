"""Classes and their rosters, the working-day calendar the federation loads.

Revision ID: enrollment_0003
Revises: enrollment_0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0003"
down_revision = "enrollment_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("workday", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["year"],
            ["calendar_years.year"],
        ),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_index(op.f("ix_calendar_days_year"), "calendar_days", ["year"], unique=False)
    op.create_table(
        "classes",
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("dedicated", sa.Boolean(), nullable=False),
        sa.Column("public_class_name", sa.String(length=200), nullable=True),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("on_site", sa.Boolean(), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("head_teacher", sa.String(length=50), nullable=True),
        sa.Column("learning_assistant", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("roster_submitted_on", sa.Date(), nullable=True),
        sa.Column("review_comments", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "status IN ('forming', 'submitted', 'returned', 'approved', 'published', 'opened')", name="ck_class_status"
        ),
        sa.CheckConstraint("dedicated OR public_class_name IS NOT NULL", name="ck_class_joins_public_class"),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.campaign_id"],
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.institution_id"],
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.programme_id"],
        ),
        sa.PrimaryKeyConstraint("class_id"),
    )
    op.create_index(op.f("ix_classes_institution_id"), "classes", ["institution_id"], unique=False)
    with op.batch_alter_table("enrolments") as batch:  # batch: SQLite cannot add a foreign key in place
        batch.add_column(sa.Column("class_id", sa.String(length=36), nullable=True))
        batch.create_index(batch.f("ix_enrolments_class_id"), ["class_id"], unique=False)
        batch.create_foreign_key("fk_enrolments_class_id", "classes", ["class_id"], ["class_id"])


def downgrade() -> None:
    with op.batch_alter_table("enrolments") as batch:
        batch.drop_constraint("fk_enrolments_class_id", type_="foreignkey")
        batch.drop_index(batch.f("ix_enrolments_class_id"))
        batch.drop_column("class_id")
    op.drop_index(op.f("ix_classes_institution_id"), table_name="classes")
    op.drop_table("classes")
    op.drop_index(op.f("ix_calendar_days_year"), table_name="calendar_days")
    op.drop_table("calendar_days")
    op.drop_table("calendar_years")
