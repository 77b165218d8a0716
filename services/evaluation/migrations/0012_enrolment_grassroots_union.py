"""The nominating grassroots union of an enrolment (from enrollment.registered / admitted), so that its officer, and
the first-level unit's, see their employees' results and certificates; indexed, as both lists filter by them.

Enrolments announced before this revision keep NULL until enrollment's next event about them (admission, for
instance) fills it: until then only the federation and the institution see their results.

Revision ID: evaluation_0012
Revises: evaluation_0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0012"
down_revision = "evaluation_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("enrolments", sa.Column("grassroots_union_id", sa.String(64), nullable=True))
    op.create_index("ix_enrolments_grassroots_union_id", "enrolments", ["grassroots_union_id"])
    op.create_index("ix_enrolments_unit_id", "enrolments", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_enrolments_unit_id", table_name="enrolments")
    op.drop_index("ix_enrolments_grassroots_union_id", table_name="enrolments")
    with op.batch_alter_table("enrolments") as batch:
        batch.drop_column("grassroots_union_id")
