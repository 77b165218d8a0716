"""Resident ID numbers encrypted at rest (AES-256-GCM, RESIDENT_ID_ENCRYPTION_KEY), and the record of every
view of a full number (who, when, which person, why).

Revision ID: enrollment_0013
Revises: enrollment_0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from servicekit.encrypted import ENCRYPTED_PREFIX, resident_id_cipher

revision = "enrollment_0013"
down_revision = "enrollment_0012"
branch_labels = None
depends_on = None

employees = sa.table("employees", sa.column("employee_id", sa.String), sa.column("resident_id", sa.String))


def _rewrite(change) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(employees.c.employee_id, employees.c.resident_id)).all()
    for employee_id, stored in rows:
        if (new := change(stored)) != stored:
            bind.execute(employees.update().where(employees.c.employee_id == employee_id).values(resident_id=new))


def upgrade() -> None:
    with op.batch_alter_table("employees") as batch:
        batch.alter_column("resident_id", type_=sa.String(100), existing_nullable=False)
        batch.add_column(sa.Column("resident_id_tail", sa.String(length=4), nullable=True))
    op.create_index("ix_employees_resident_id_tail", "employees", ["resident_id_tail"])
    cipher = resident_id_cipher()
    bind = op.get_bind()
    tails = sa.table("employees", sa.column("employee_id", sa.String), sa.column("resident_id_tail", sa.String))
    for employee_id, stored in bind.execute(sa.select(employees.c.employee_id, employees.c.resident_id)).all():
        bind.execute(
            tails.update()
            .where(tails.c.employee_id == employee_id)
            .values(resident_id_tail=cipher.decrypt(stored)[-4:])
        )
    _rewrite(lambda stored: stored if stored.startswith(ENCRYPTED_PREFIX) else cipher.encrypt(stored))
    op.create_table(
        "personal_data_views",
        sa.Column("view_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=40), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("view_id"),
    )
    op.create_index("ix_personal_data_views_employee", "personal_data_views", ["employee_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_personal_data_views_employee", table_name="personal_data_views")
    op.drop_table("personal_data_views")
    cipher = resident_id_cipher()
    _rewrite(cipher.decrypt)
    op.drop_index("ix_employees_resident_id_tail", table_name="employees")
    with op.batch_alter_table("employees") as batch:
        batch.drop_column("resident_id_tail")
        batch.alter_column("resident_id", type_=sa.String(18), existing_nullable=False)
