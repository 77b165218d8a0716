"""Result batches take their Idempotency-Key from servicekit's idempotency keys (per caller, like every
money-moving request); the service's own result_batches table goes. Keys sent before the upgrade are not
carried over (their fingerprints were computed differently): a batch resent across the upgrade is checked
like a new one, and the exam results' constraints record each sitting once.

Revision ID: evaluation_0006
Revises: evaluation_0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from servicekit.migrations import create_idempotency_table

revision = "evaluation_0006"
down_revision = "evaluation_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()
    op.drop_table("result_batches")
    with op.batch_alter_table("exam_results") as batch:
        batch.alter_column("batch_key", type_=sa.String(255), existing_type=sa.String(100), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("exam_results") as batch:
        batch.alter_column("batch_key", type_=sa.String(100), existing_type=sa.String(255), existing_nullable=False)
    op.create_table(
        "result_batches",
        sa.Column("institution_id", sa.String(64), primary_key=True),
        sa.Column("idempotency_key", sa.String(100), primary_key=True),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.drop_table("idempotency_keys")
