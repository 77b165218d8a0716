"""Machine clients: secret rotation (generation, overlap), last use, and the keyset indexes of their list.

Revision ID: gateway_0009
Revises: gateway_0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from servicekit.migrations import create_keyset_indexes, drop_keyset_indexes

revision = "gateway_0009"
down_revision = "gateway_0008"
branch_labels = None
depends_on = None

INDEXES = (
    ("machine_clients", ("created_at", "key_id")),
    ("machine_clients", ("name", "key_id")),
)


def upgrade() -> None:
    op.add_column("machine_clients", sa.Column("secret_generation", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("machine_clients", sa.Column("secret_rotated_at", sa.DateTime(timezone=True)))
    op.add_column("machine_clients", sa.Column("previous_secret_until", sa.DateTime(timezone=True)))
    op.add_column("machine_clients", sa.Column("last_used_at", sa.DateTime(timezone=True)))
    create_keyset_indexes(INDEXES)


def downgrade() -> None:
    drop_keyset_indexes(INDEXES)
    with op.batch_alter_table("machine_clients") as batch:
        for column in ("last_used_at", "previous_secret_until", "secret_rotated_at", "secret_generation"):
            batch.drop_column(column)
