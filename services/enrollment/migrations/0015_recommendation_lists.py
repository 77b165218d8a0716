"""The democratic recommendation per nominee, identified objectors, confirmed nominations and the lists a
first-level unit sends to the institutions (one dated send per grassroots union's list).

Revision ID: enrollment_0015
Revises: enrollment_0014
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

from servicekit.migrations import create_keyset_indexes, drop_keyset_indexes

revision = "enrollment_0015"
down_revision = "enrollment_0014"
branch_labels = None
depends_on = None

INDEXES = (("nomination_lists", ("sent_on", "list_id")),)


def upgrade() -> None:
    op.create_table(
        "nomination_lists",
        sa.Column("list_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("grassroots_union_id", sa.String(length=64), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("sent_by", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nominees", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.campaign_id"]),
        sa.PrimaryKeyConstraint("list_id"),
    )
    for column in ("campaign_id", "unit_id", "grassroots_union_id"):
        op.create_index(op.f(f"ix_nomination_lists_{column}"), "nomination_lists", [column], unique=False)
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recommended_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("recommendation_method", sa.String(length=20), nullable=True))
        for column in ("voters", "votes_for", "votes_against", "votes_abstained"):
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("list_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_enrolments_list_id"), ["list_id"], unique=False)
        batch_op.create_foreign_key("fk_enrolments_list_id", "nomination_lists", ["list_id"], ["list_id"])
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("objector_name", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("objector_employee_id", sa.String(length=64), nullable=True))
    create_keyset_indexes(INDEXES)


def downgrade() -> None:
    drop_keyset_indexes(INDEXES)
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.drop_column("objector_employee_id")
        batch_op.drop_column("objector_name")
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_constraint("fk_enrolments_list_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_enrolments_list_id"))
        for column in (
            "list_id",
            "confirmed_on",
            "votes_abstained",
            "votes_against",
            "votes_for",
            "voters",
            "recommendation_method",
            "recommended_on",
        ):
            batch_op.drop_column(column)
    for column in ("grassroots_union_id", "unit_id", "campaign_id"):
        op.drop_index(op.f(f"ix_nomination_lists_{column}"), table_name="nomination_lists")
    op.drop_table("nomination_lists")
