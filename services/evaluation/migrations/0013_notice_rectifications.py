"""Notices (通报) with a rectification (整改): the date the report is due, the institution's report and the
federation's verdict on it. Notices given before this revision get a row without a due date.

Revision ID: evaluation_0013
Revises: evaluation_0012
Create Date: 2026-12-03
"""

import uuid

import sqlalchemy as sa
from alembic import op

from servicekit.migrations import create_keyset_indexes, drop_keyset_indexes

revision = "evaluation_0013"
down_revision = "evaluation_0012"
branch_labels = None
depends_on = None

INDEXES = (("notices", ("issued_at", "notice_id")),)


def upgrade() -> None:
    notices = op.create_table(
        "notices",
        sa.Column("notice_id", sa.String(36), primary_key=True),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.Date(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("report_revision", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reported_by", sa.String(200), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verdict", sa.String(14), nullable=True),
        sa.Column("verdict_reason", sa.String(500), nullable=True),
        sa.Column("verdict_by", sa.String(200), nullable=True),
        sa.Column("verdict_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id", "revision"], ["institution_decisions.institution_id", "institution_decisions.revision"]
        ),
        sa.UniqueConstraint("institution_id", "revision", name="uq_notices_decision"),
        sa.CheckConstraint("verdict IN ('accepted', 'not_accepted')", name="ck_notices_verdict"),
        sa.CheckConstraint("verdict IS NULL OR report IS NOT NULL", name="ck_notices_verdict_on_a_report"),
        sa.CheckConstraint("(report IS NULL) = (report_revision = 0)", name="ck_notices_report_revision"),
    )
    op.create_index("ix_notices_institution_id", "notices", ["institution_id"])
    op.create_index("ix_notices_campaign_id", "notices", ["campaign_id"])
    create_keyset_indexes(INDEXES)
    given = op.get_bind().execute(
        sa.text(
            "SELECT institution_id, revision, campaign_id, reason, decided_at FROM institution_decisions "
            "WHERE action = 'notified'"
        )
    )
    rows = [
        {
            "notice_id": str(uuid.uuid4()),
            "institution_id": row.institution_id,
            "revision": row.revision,
            "campaign_id": row.campaign_id,
            "reason": row.reason,
            "issued_at": row.decided_at,
            "report_revision": 0,
        }
        for row in given
    ]
    if rows:
        op.bulk_insert(notices, rows)


def downgrade() -> None:
    drop_keyset_indexes(INDEXES)
    op.drop_index("ix_notices_campaign_id", table_name="notices")
    op.drop_index("ix_notices_institution_id", table_name="notices")
    op.drop_table("notices")
