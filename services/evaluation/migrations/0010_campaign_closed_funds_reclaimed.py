"""When the campaign was closed (quota's campaign.closed): HTTP writes to it are refused from then on; fund
movements carry their direction (funds.reclaimed counted against funds.transferred).

Revision ID: evaluation_0010
Revises: evaluation_0009
Create Date: 2026-12-03 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0010"
down_revision = "evaluation_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("fund_transfers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("direction", sa.String(10), nullable=False, server_default="to_unit"))


def downgrade() -> None:
    with op.batch_alter_table("fund_transfers", schema=None) as batch_op:
        batch_op.drop_column("direction")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
