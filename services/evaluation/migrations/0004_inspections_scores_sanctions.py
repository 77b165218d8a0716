"""Inspections, scoring settings, kept evaluations, institution standing and its decisions.

Revision ID: evaluation_0004
Revises: evaluation_0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0004"
down_revision = "evaluation_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspections",
        sa.Column("inspection_id", sa.String(36), primary_key=True),
        sa.Column("campaign_id", sa.String(36), nullable=False),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("inspector", sa.String(200), nullable=False),
        sa.Column("inspected_on", sa.Date, nullable=False),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inspections_campaign_institution", "inspections", ["campaign_id", "institution_id"])
    op.create_table(
        "scoring_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("weights", sa.JSON, nullable=False),
        sa.Column("notice_threshold", sa.Numeric(5, 2), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_scoring_settings_single_row"),
    )
    op.create_table(
        "institution_evaluations",
        sa.Column("evaluation_id", sa.String(36), primary_key=True),
        sa.Column("campaign_id", sa.String(36), nullable=False),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("score", sa.Numeric(5, 2)),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("evaluated_by", sa.String(200), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "institution_standings",
        sa.Column("institution_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("disqualified", sa.Boolean, nullable=False),
    )
    op.create_table(
        "institution_decisions",
        sa.Column("institution_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(14), nullable=False),
        sa.Column("campaign_id", sa.String(36)),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "institution_decisions",
        "institution_standings",
        "institution_evaluations",
        "scoring_settings",
        "inspections",
    ):
        op.drop_table(table)
