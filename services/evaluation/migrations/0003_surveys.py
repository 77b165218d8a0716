"""Anonymous surveys: per-survey RSA keys, tokens issued, unlinkable answers.

Revision ID: evaluation_0003
Revises: evaluation_0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0003"
down_revision = "evaluation_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("survey_id", sa.String(36), primary_key=True),
        sa.Column("campaign_id", sa.String(36), nullable=False),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("closes_on", sa.Date, nullable=False),
        sa.Column("modulus", sa.Text, nullable=False),
        sa.Column("public_exponent", sa.Integer, nullable=False),
        sa.Column("private_exponent", sa.Text, nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("campaign_id", "institution_id", name="uq_surveys_campaign_institution"),
    )
    op.create_table(
        "survey_tokens_issued",
        sa.Column("survey_id", sa.String(36), sa.ForeignKey("surveys.survey_id"), primary_key=True),
        sa.Column("employee_id", sa.String(64), primary_key=True),
        sa.Column("blinded_sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "survey_answers",
        sa.Column("survey_id", sa.String(36), sa.ForeignKey("surveys.survey_id"), primary_key=True),
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("teaching", sa.Integer, nullable=False),
        sa.Column("service", sa.Integer, nullable=False),
        sa.Column("organisation", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("answered_on", sa.Date, nullable=False),
        *(
            sa.CheckConstraint(f"{q} BETWEEN 1 AND 5", name=f"ck_survey_answers_{q}")
            for q in ("teaching", "service", "organisation")
        ),
    )


def downgrade() -> None:
    for table in ("survey_answers", "survey_tokens_issued", "surveys"):
        op.drop_table(table)
