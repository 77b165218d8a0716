"""A student moved to another class of the programme while both rosters are being made: the placement left
ends as 'moved'.

Revision ID: enrollment_0021
Revises: enrollment_0020
Create Date: 2026-12-03 18:05:00
"""

from alembic import op

revision = "enrollment_0021"
down_revision = "enrollment_0020"
branch_labels = None
depends_on = None


def _ended_by(values: str) -> None:
    with op.batch_alter_table("class_placements", schema=None) as batch_op:
        batch_op.drop_constraint("ck_class_placement_ended_by", type_="check")
        batch_op.create_check_constraint("ck_class_placement_ended_by", f"ended_by IS NULL OR ended_by IN ({values})")


def upgrade() -> None:
    _ended_by("'retake', 'transfer', 'withdrawal', 'moved'")


def downgrade() -> None:
    op.execute("DELETE FROM class_placements WHERE ended_by = 'moved'")  # history a downgrade cannot keep
    _ended_by("'retake', 'transfer', 'withdrawal'")
