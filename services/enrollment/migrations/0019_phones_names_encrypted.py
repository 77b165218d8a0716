"""Phones and the names a nomination proposed, encrypted at rest like resident ID numbers (AES-256-GCM under
RESIDENT_ID_ENCRYPTION_KEY, bound to another associated data: servicekit.encrypted.EncryptedPersonalData).
Existing rows are encrypted here; a value already encrypted is left as it is (the migration may run again).

Revision ID: enrollment_0019
Revises: enrollment_0018
Create Date: 2026-12-03 15:40:00
"""

import sqlalchemy as sa
from alembic import op

from servicekit.encrypted import ENCRYPTED_PREFIX, PERSONAL_DATA, resident_id_cipher

revision = "enrollment_0019"
down_revision = "enrollment_0018"
branch_labels = None
depends_on = None

COLUMNS = {
    "employees": ("employee_id", ("phone",)),
    "enrolments": ("enrolment_id", ("nominated_name", "nominated_phone")),
}
CLEAR_LENGTHS = {"phone": 11, "nominated_name": 50, "nominated_phone": 11}


def _rewrite(change) -> None:
    bind = op.get_bind()
    for name, (key, columns) in COLUMNS.items():
        table = sa.table(name, sa.column(key, sa.String), *(sa.column(c, sa.String) for c in columns))
        for row in bind.execute(sa.select(table.c[key], *(table.c[c] for c in columns))).all():
            values = {c: change(row[i + 1]) for i, c in enumerate(columns) if row[i + 1] is not None}
            values = {c: v for c, v in values.items() if v != row[columns.index(c) + 1]}
            if values:
                bind.execute(table.update().where(table.c[key] == row[0]).values(**values))


def upgrade() -> None:
    for name, (_, columns) in COLUMNS.items():
        with op.batch_alter_table(name) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(200), existing_nullable=column != "phone")
    cipher = resident_id_cipher()
    _rewrite(lambda clear: clear if clear.startswith(ENCRYPTED_PREFIX) else cipher.encrypt(clear, PERSONAL_DATA))


def downgrade() -> None:
    cipher = resident_id_cipher()
    _rewrite(lambda stored: cipher.decrypt(stored, PERSONAL_DATA))
    for name, (_, columns) in COLUMNS.items():
        with op.batch_alter_table(name) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(CLEAR_LENGTHS[column]), existing_nullable=column != "phone")
