"""A class's timetable (课表): its lessons, never two of one class at once (an exclusion constraint on PostgreSQL).

Revision ID: enrollment_0022
Revises: enrollment_0021
Create Date: 2026-12-03 22:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0022"
down_revision = "enrollment_0021"
branch_labels = None
depends_on = None

# btree_gist lets one GiST index compare the class id (equality) and the lesson's time range (overlap); it is a
# trusted extension (PostgreSQL 13+), which a database owner may create. Where it cannot be created the class row
# lock and the unique start still keep the timetable whole (services/enrollment/lessons.py).
NO_OVERLAP = (
    "ALTER TABLE lessons ADD CONSTRAINT ex_lesson_no_overlap EXCLUDE USING gist "
    "(class_id WITH =, tsrange(starts_at, ends_at) WITH &&) WHERE (cancelled_on IS NULL)"
)
BTREE_GIST = """
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS btree_gist;
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
    RAISE NOTICE 'btree_gist unavailable: lessons are kept apart by the class row lock only';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "lessons",
        sa.Column("lesson_id", sa.String(length=36), nullable=False),
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("course", sa.String(length=200), nullable=False),
        sa.Column("teacher", sa.String(length=50), nullable=False),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name="ck_lesson_ends_after_start"),
        sa.CheckConstraint("(cancelled_on IS NULL) = (cancel_reason IS NULL)", name="ck_lesson_cancelled"),
        sa.ForeignKeyConstraint(["class_id"], ["classes.class_id"]),
        sa.PrimaryKeyConstraint("lesson_id"),
    )
    op.create_index(op.f("ix_lessons_class_id"), "lessons", ["class_id"], unique=False)
    op.create_index(
        "ux_lesson_class_start",
        "lessons",
        ["class_id", "starts_at"],
        unique=True,
        postgresql_where=sa.text("cancelled_on IS NULL"),
        sqlite_where=sa.text("cancelled_on IS NULL"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(BTREE_GIST)
        if bind.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'")):
            op.execute(NO_OVERLAP)


def downgrade() -> None:
    op.drop_index("ux_lesson_class_start", table_name="lessons")
    op.drop_index(op.f("ix_lessons_class_id"), table_name="lessons")
    op.drop_table("lessons")  # the exclusion constraint goes with it; btree_gist stays (others may use it)
