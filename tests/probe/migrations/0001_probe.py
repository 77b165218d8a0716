"""Probe tables.

Revision ID: probe_0001
Revises:
Create Date: 2026-11-25
"""

from servicekit.migrations import create_messaging_tables
from tests.probe.models import Base

revision = "probe_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from alembic import op

    create_messaging_tables()
    for table in Base.metadata.sorted_tables:
        if table.name not in {"outbox", "inbox"}:
            table.create(op.get_bind())


def downgrade() -> None:
    pass
