"""Survey keys move to RFC 9474 (RSABSSA-SHA384-PSS-Randomized): each survey's private key is kept as PKCS#8 PEM
encrypted under SURVEY_KEY_ENCRYPTION_KEY, its public key as SPKI PEM; the private exponent in clear goes.

Surveys opened before are migrated, not refused: their RSA key (n, e, d) is kept (p and q recovered from it) and
serves RFC 9474 from now on, so every invited student who has not asked for a token yet can still answer, and the
answers already given stay. A token issued under the old scheme and not used yet cannot be finalised under the new
one (an answer in the old format is refused with `evaluation_token_scheme_retired`); how many such tokens each
survey may have (tokens issued minus answers) is logged here.

Revision ID: evaluation_0007
Revises: evaluation_0006
Create Date: 2026-11-28
"""

import logging

import sqlalchemy as sa
from alembic import context, op
from cryptography.hazmat.primitives.asymmetric import rsa

from services.evaluation import blind

revision = "evaluation_0007"
down_revision = "evaluation_0006"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

surveys = sa.table(
    "surveys",
    sa.column("survey_id", sa.String),
    sa.column("modulus", sa.Text),
    sa.column("public_exponent", sa.Integer),
    sa.column("private_exponent", sa.Text),
    sa.column("public_key_pem", sa.Text),
    sa.column("private_key_pem", sa.Text),
)


def _key_encryption_key() -> bytes:
    return blind.key_encryption_key(context.config.attributes["runtime"].settings.var_dir)


def _from_exponents(n: int, e: int, d: int) -> rsa.RSAPrivateKey:
    p, q = rsa.rsa_recover_prime_factors(n, e, d)
    crt = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
    return rsa.RSAPrivateNumbers(p, q, d, *crt, rsa.RSAPublicNumbers(e, n)).private_key()


def upgrade() -> None:
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("public_key_pem", sa.Text))
        batch.add_column(sa.Column("private_key_pem", sa.Text))
    db = op.get_bind()
    rows = db.execute(
        sa.select(surveys.c.survey_id, surveys.c.modulus, surveys.c.public_exponent, surveys.c.private_exponent)
    ).all()
    kek = _key_encryption_key() if rows else b""
    for survey_id, modulus, e, d in rows:
        key = _from_exponents(int(modulus, 16), e, int(d, 16))
        db.execute(
            surveys.update()
            .where(surveys.c.survey_id == survey_id)
            .values(public_key_pem=blind.spki_pem(key), private_key_pem=blind.encrypted_pem(key, kek))
        )
        issued, answered = (
            db.execute(sa.text(f"SELECT count(*) FROM {table} WHERE survey_id = :s"), {"s": survey_id}).scalar_one()
            for table in ("survey_tokens_issued", "survey_answers")
        )
        log.info(
            "survey %s: key moved to RFC 9474; at most %d token(s) issued under the old scheme remain unused",
            survey_id,
            max(issued - answered, 0),
        )
    with op.batch_alter_table("surveys") as batch:
        batch.alter_column("public_key_pem", existing_type=sa.Text, nullable=False)
        batch.alter_column("private_key_pem", existing_type=sa.Text, nullable=False)
        for column in ("modulus", "public_exponent", "private_exponent"):
            batch.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("modulus", sa.Text))
        batch.add_column(sa.Column("public_exponent", sa.Integer))
        batch.add_column(sa.Column("private_exponent", sa.Text))
    db = op.get_bind()
    rows = db.execute(sa.select(surveys.c.survey_id, surveys.c.private_key_pem)).all()
    kek = _key_encryption_key() if rows else b""
    for survey_id, pem in rows:
        numbers = blind.private_key(pem, kek).private_numbers()
        db.execute(
            surveys.update()
            .where(surveys.c.survey_id == survey_id)
            .values(
                modulus=format(numbers.public_numbers.n, "x"),
                public_exponent=numbers.public_numbers.e,
                private_exponent=format(numbers.d, "x"),
            )
        )
    with op.batch_alter_table("surveys") as batch:
        for column in ("modulus", "public_exponent", "private_exponent"):
            batch.alter_column(
                column, existing_type=sa.Integer if column == "public_exponent" else sa.Text, nullable=False
            )
        batch.drop_column("public_key_pem")
        batch.drop_column("private_key_pem")
