"""What each nomination gave as the person's name and phone: shown to the nominating union, kept beside the
employee's record (never overwriting it) as a proposed change for review.

Revision ID: enrollment_0011
Revises: enrollment_0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "enrollment_0011"
down_revision = "enrollment_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("enrolments", sa.Column("nominated_name", sa.String(50)))
    op.add_column("enrolments", sa.Column("nominated_phone", sa.String(11)))


def downgrade() -> None:
    with op.batch_alter_table("enrolments") as batch:
        batch.drop_column("nominated_phone")
        batch.drop_column("nominated_name")
