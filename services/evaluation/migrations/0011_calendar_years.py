"""calendar_years: the working-day calendar years enrollment announces (calendar.loaded), for counting working days.

Revision ID: evaluation_0011
Revises: evaluation_0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0011"
down_revision = "evaluation_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_years")
