"""SQLAlchemy engine, sessions and the unit of work around each use case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, Table, create_engine, event, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .bus.envelope import Envelope
from .logging import causation_id, correlation_id, request_id


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def upsert(bind, table):
    """An INSERT offering `on_conflict_do_nothing/do_update` on the database in use (PostgreSQL or SQLite)."""
    return (postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert)(table)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    """One transaction: state changes and the events announcing them commit together.

    Leaving the block without `commit()` rolls everything back, events included.
    """

    def __init__(self, session_factory: Callable[[], Session], outbox: Table, producer: str):
        self._session_factory, self._outbox, self._producer = session_factory, outbox, producer
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        return self

    def __exit__(self, *exc_info) -> None:
        self.session.rollback()
        self.session.close()
        self._session = None

    def commit(self) -> None:
        self.session.commit()

    def publish(self, event_type: str, data: dict, *, version: int | None = None) -> Envelope:
        """Add an event to the outbox in this transaction (validated against its contract now)."""
        envelope = Envelope.new(
            event_type,
            data,
            producer=self._producer,
            version=version,
            correlation_id=correlation_id.get() or request_id.get(),
            causation_id=causation_id.get() or request_id.get(),
        )
        self.session.execute(
            insert(self._outbox).values(
                event_id=envelope.id,
                type=envelope.type,
                body=envelope.to_json(),
                created_at=utcnow(),
                attempts=0,
            )
        )
        return envelope


class JoinedUnitOfWork(UnitOfWork):
    """A unit of work inside a transaction that another layer commits (an idempotent request's,
    servicekit.idempotency): `commit()` keeps its changes for that transaction (a savepoint is
    released), leaving without `commit()` undoes them (rolled back to the savepoint)."""

    def __init__(self, session: Session, outbox: Table, producer: str):
        super().__init__(lambda: session, outbox, producer)

    def __enter__(self) -> JoinedUnitOfWork:
        self._session = self._session_factory()
        self._savepoint = self.session.begin_nested()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._savepoint.is_active:
            self._savepoint.rollback()
        self._session = None

    def commit(self) -> None:
        self._savepoint.commit()
