"""The masked holder name of an enrolment, shown by public certificate verification.

Revision ID: evaluation_0005
Revises: evaluation_0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0005"
down_revision = "evaluation_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("enrolments", sa.Column("holder_name_masked", sa.String(30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enrolments") as batch:
        batch.drop_column("holder_name_masked")
