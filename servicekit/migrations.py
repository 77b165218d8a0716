"""Alembic, one migration history per service, each with its own version table."""

from __future__ import annotations

import fcntl
import zlib
from contextlib import contextmanager
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import text

from .service import Runtime

SCRIPT_LOCATION = Path(__file__).parent / "alembic"


def alembic_config(runtime: Runtime) -> Config:
    """The environment and template are shared; each service keeps its own versions folder."""
    config = Config()
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("version_locations", str(runtime.service.migrations))
    config.set_main_option("sqlalchemy.url", runtime.settings.database_url.replace("%", "%%"))
    config.attributes["runtime"] = runtime
    return config


def upgrade(runtime: Runtime, revision: str = "head") -> None:
    with _embedded_migration_lock(runtime):
        command.upgrade(alembic_config(runtime), revision)


@contextmanager
def _embedded_migration_lock(runtime: Runtime):
    """On SQLite the api and worker may both migrate at start: one at a time.

    (PostgreSQL takes an advisory lock inside the migration's transaction instead.)
    """
    if not runtime.settings.database_url.startswith("sqlite"):
        yield
        return
    lock_path = runtime.settings.var_dir / f"{runtime.service.name}.migrate.lock"
    with open(lock_path, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def run_migrations_online() -> None:
    """The body of every service's migrations/env.py."""
    runtime: Runtime = context.config.attributes["runtime"]
    service = runtime.service
    with runtime.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Several containers may start at once; one migrates, the others wait.
            # The lock lasts until the migrations' transaction ends.
            lock_key = zlib.crc32(f"migrate:{service.name}".encode())
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
        context.configure(
            connection=connection,
            target_metadata=service.metadata,
            version_table=f"alembic_version_{service.name}",
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "postgresql":
                connect_only_as_owner(connection)
        connection.commit()


def connect_only_as_owner(connection) -> None:
    """Migrating as the database's owner: nobody else may connect to it (CONNECT, TEMPORARY, CREATE revoked from
    PUBLIC), whoever made the database. servicekit.provision does the same locally; on Kubernetes CloudNativePG's
    Database gives each service's role its database with PostgreSQL's default privileges, which this takes away."""
    database, owned = connection.execute(
        text(
            "SELECT datname, pg_get_userbyid(datdba) = current_user FROM pg_database WHERE datname = current_database()"
        )
    ).one()
    if owned:
        quoted = connection.dialect.identifier_preparer.quote_identifier(database)
        connection.execute(text(f"REVOKE ALL ON DATABASE {quoted} FROM PUBLIC"))


def create_messaging_tables() -> None:
    """The outbox and inbox every service's first migration creates."""
    from sqlalchemy import MetaData

    from .bus.tables import add_messaging_tables

    for table in add_messaging_tables(MetaData()):
        table.create(op.get_bind())


def create_idempotency_table() -> None:
    """The idempotency keys of a service whose requests move money (servicekit.idempotency)."""
    from sqlalchemy import MetaData

    from .idempotency import add_idempotency_table

    add_idempotency_table(MetaData()).create(op.get_bind())


def drop_messaging_tables() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")


def create_saga_table() -> None:
    """The waits of a service's sagas (servicekit.sagas), for a service that starts awaiting answers."""
    from sqlalchemy import MetaData

    from .sagas import add_saga_table

    table = add_saga_table(MetaData())
    table.create(op.get_bind())


def drop_saga_table() -> None:
    op.drop_table("saga_waits")


def create_keyset_indexes(spec) -> None:
    """The (sort key, id...) indexes of a service's lists (servicekit.paging.keyset_indexes declares them)."""
    from .paging import keyset_index_name

    for table, columns in spec:
        op.create_index(keyset_index_name(table, columns), table, list(columns))


def drop_keyset_indexes(spec) -> None:
    from .paging import keyset_index_name

    for table, columns in spec:
        op.drop_index(keyset_index_name(table, columns), table_name=table)


def drop_indexes(spec) -> None:
    """Drop (name, table, columns) indexes; `create_indexes` with the same spec is its downgrade."""
    for name, table, _columns in spec:
        op.drop_index(name, table_name=table)


def create_indexes(spec) -> None:
    for name, table, columns in spec:
        op.create_index(name, table, list(columns))
