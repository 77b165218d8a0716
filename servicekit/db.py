"""SQLAlchemy engine, sessions and the unit of work around each use case."""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy.exc
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Table,
    any_,
    bindparam,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapper, Session

from .bus.envelope import Envelope
from .logging import causation_id, correlation_id, request_id
from .tracing import current_headers

log = logging.getLogger(__name__)

# SQLSTATEs of a server going away or not taking connections (yet): class 08 is "connection exception";
# 57P01-03 an administrator's or a crash's shutdown, or a server still starting; 53300 no connection slot free.
UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk I/O error")


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached now (an outage), not that a statement failed.

    An outage is answered 503 and waited out by consumers; a failing statement (a deadlock, a constraint,
    a bug) is the handler's own failure, retried and eventually dead-lettered.
    """
    if isinstance(exc, sqlalchemy.exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return False
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        return state.startswith("08") or state in UNAVAILABLE_STATES
    if type(exc.orig).__module__.startswith("sqlite3"):
        return any(text in str(exc.orig) for text in SQLITE_UNAVAILABLE)
    return True  # psycopg raises connection failures (refused, reset, timed out) without a SQLSTATE


def outage_reason(exc: BaseException) -> str:
    """The driver's first line ("connection refused"...), never the statement SQLAlchemy adds to its message."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__


def make_engine(url: str, connect_timeout: int = 5) -> Engine:
    if url.startswith("sqlite"):
        # hide_parameters: a failing statement's message never carries its values (personal data)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # A server that does not answer, or a pool with no connection free, fails in seconds: callers hear 503
    # instead of waiting.
    engine = create_engine(
        url,
        hide_parameters=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=5,
        connect_args={"connect_timeout": connect_timeout},
    )
    ping_after_rest(engine)
    return engine


PING_AFTER_REST_SECONDS = 1.0


def ping_after_rest(engine: Engine, seconds: float = PING_AFTER_REST_SECONDS) -> None:
    """pool_pre_ping's check, for a pooled connection that rested more than `seconds` only.

    One handed back a moment ago was alive then; pinging it too cost a round trip per transaction, 13 % of a
    busy worker's time. A server lost since is still noticed by the first statement, which invalidates the
    whole pool (SQLAlchemy's disconnect handling) and is answered as an outage (503, or a paused consumer).
    """

    @event.listens_for(engine, "checkin")
    def _rests_from(_dbapi_connection, record) -> None:
        record.info["rests_from"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive_after_rest(dbapi_connection, record, _proxy) -> None:
        rests_from = record.info.pop("rests_from", None)
        if rests_from is None or time.monotonic() - rests_from < seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sqlalchemy.exc.DisconnectionError() from exc  # the pool replaces it with a new connection


def upsert(bind, table):
    """An INSERT offering `on_conflict_do_nothing/do_update` on the database in use (PostgreSQL or SQLite)."""
    return upsert_on(bind.dialect.name, table)


def upsert_on(dialect: str, table):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def among(
    bind: Session | Connection | Engine, column, values: Iterable[Any], name: str | None = None
) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`, one parameter for any number of values.

    The statement's text is then the same for every batch: psycopg parses it once (it caches statements of at
    most 50 parameters only), PostgreSQL plans it without a list to read, and a batch of 200 keys costs a third
    of the client CPU of the IN list's. A statement naming the same values in several places passes one `name`
    to each: the array is then one parameter, sent once.
    """
    values = list(values)
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "postgresql":
        return column == any_(bindparam(name, values, type_=postgresql.ARRAY(column.type), unique=name is None))
    return column.in_(values)


def among_constants(column, values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN ('a', 'b')` with the code's constants (statuses, say) written into the statement's text.

    A list of bound values is an "expanding" parameter, which SQLAlchemy renders into the cached statement anew
    at every execution (0.1 ms of a registration's locking read here, in-process cProfile). Written in, the
    statement compiled once is sent as it is.
    """
    values = tuple(values)
    if not all(_CONSTANT.fullmatch(value) for value in values):
        raise ValueError(f"not constants of the code: {values!r}")
    return column.in_([literal_column(f"'{value}'") for value in values])


_CONSTANT = re.compile(r"[a-z][a-z0-9_]*")


def utcnow() -> datetime:
    return datetime.now(UTC)


def outbox_channel(service: str) -> str:
    """The PostgreSQL NOTIFY channel a service's outbox inserts wake its relays on."""
    return f"outbox.{service}"


BELL_REST_SECONDS = 0.01
NOTIFY = text("SELECT pg_notify(:channel, '')")


class RelayBell:
    """Wakes a service's relays after commits, from a thread and a connection of its own.

    A committing request or handler only rings and goes on: the pool checkout, its ping and the NOTIFY (two
    round trips to the database) stay off its path. Rings that come while a NOTIFY is on its way are answered
    by one more, sent after them, so no commit is ever announced before it happened. A NOTIFY that fails
    (the database is away) is logged and dropped: the relay's poll publishes what it would have woken for.

    After a NOTIFY the bell rests `rest` seconds: the rings meanwhile are announced by one NOTIFY after it. A
    commit alone is announced at once; a busy process's commits wake its relays at most every `rest`, each time
    to publish more rows (a NOTIFY and a relay's pass for every other registration were a twentieth of the
    api's CPU and a third of the enrollment database's commits).
    """

    def __init__(self, engine: Engine, channel: str, rest: float = BELL_REST_SECONDS):
        self._engine, self._channel, self._rest = engine, channel, rest
        self._rung = threading.Event()
        threading.Thread(target=self._notify_when_rung, name=f"relay-bell {channel}", daemon=True).start()

    def ring(self) -> None:
        self._rung.set()

    def _notify_when_rung(self) -> None:
        connection = None
        while True:
            self._rung.wait()
            self._rung.clear()
            try:
                if connection is None:
                    connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                connection.execute(NOTIFY, {"channel": self._channel})
            except sqlalchemy.exc.SQLAlchemyError as exc:
                log.warning("relay not woken", extra={"error": type(exc).__name__})
                if connection is not None:
                    connection.invalidate()
                    connection.close()
                connection = None
            time.sleep(self._rest)


_bells: dict[tuple[int, int, str], RelayBell] = {}
_bells_lock = threading.Lock()


def relay_bell(engine: Engine, producer: str) -> RelayBell:
    """This process's bell for `producer`'s relays on `engine` (a forked process rings a bell of its own)."""
    key = (os.getpid(), id(engine), producer)
    with _bells_lock:
        if key not in _bells:
            _bells[key] = RelayBell(engine, outbox_channel(producer))
        return _bells[key]


def rows_by_key(session: Session, model: type, keys: Iterable[Any]) -> dict[Any, Any]:
    """Rows of `model` by primary key (one column): those the session holds already without a query (read
    beside another row, say), the rest in one."""
    mapper: Mapper[Any] = inspect(model)
    wanted, found = set(keys), {}
    for key in wanted:
        if (held := session.identity_map.get(mapper.identity_key_from_primary_key((key,)))) is not None:
            found[key] = held
    if missing := wanted - found.keys():
        key_of = mapper.get_property_by_column(mapper.primary_key[0])
        rows: Iterable[Any] = session.scalars(select(model).where(among(session, key_of.class_attribute, missing)))
        found |= {getattr(row, key_of.key): row for row in rows}
    return found


def hold(session: Session, *rows: Any) -> None:
    """Keep rows in the session until it closes, for `rows_by_key` to find: its identity map keeps only
    the rows something references."""
    session.info.setdefault("held", []).extend(rows)


@functools.cache
def _insert_into(table: Table) -> Insert:
    """One INSERT object a table: SQLAlchemy keys its compiled form by the object's cache key, which an object
    reused computes once (the bookkeeping's inserts built anew at every commit were a seventh of a
    registration's CPU, in-process)."""
    return insert(table)


@functools.cache
def _restart_wait(dialect: str, waits: Table) -> Insert:
    """A saga wait begun, or begun anew: its row's values replace the one there."""
    statement = upsert_on(dialect, waits)
    return statement.on_conflict_do_update(
        index_elements=["saga", "item_id"],
        set_={column: statement.excluded[column] for column in WAIT_RESTARTED},
    )


WAIT_RESTARTED = ("waiting_since", "asks", "last_asked_at", "next_ask_at", "stalled_at")


@functools.lru_cache(maxsize=256)
def _inserts_together(shape: tuple[tuple[Insert, tuple[str, ...]], ...]) -> Insert:
    """One statement inserting a row through each insert of `shape` (with its columns), all but the last as
    CTEs, each value a parameter named by `_param`: the same shape is the same statement, compiled once."""
    rows = [
        statement.values({column: bindparam(_param(n, column)) for column in columns})
        for n, (statement, columns) in enumerate(shape)
    ]
    *first, last = rows
    return last.add_cte(*(row.cte(f"append_{n}") for n, row in enumerate(first))) if first else last


def _param(n: int, column: str) -> str:
    return f"append_{n}_{column}"


UNIT_OF_WORK = "unit_of_work"  # the session's info key for the unit of work it serves
RING_AFTER_COMMIT = "ring_after_commit"  # the session's info key for the bell its commit rings


@event.listens_for(Session, "after_commit")
def _ring_after_commit(session: Session) -> None:
    """One listener for all sessions, cheaper than one added to each unit of work's session."""
    bell = session.info.pop(RING_AFTER_COMMIT, None)
    if bell is not None:
        bell.ring()


class UnitSession(Session):
    """The session a unit of work may hold its bookkeeping in: what it holds was added outside any savepoint
    begun now, so it is sent before the savepoint, where a rollback to it would take it back."""

    def begin(self, nested: bool = False):
        if nested:
            _send_held(self)
        return super().begin(nested=nested)


@event.listens_for(UnitSession, "do_orm_execute")
def _held_first(execution) -> None:
    """What the unit of work holds is sent before any statement of its transaction, which may read it."""
    _send_held(execution.session)


def _send_held(session: Session) -> None:
    unit_of_work = session.info.get(UNIT_OF_WORK)
    if unit_of_work is not None and unit_of_work._appends:
        unit_of_work._send_appends()


class UnitOfWork:
    """One transaction: state changes and the events announcing them commit together.

    Leaving the block without `commit()` rolls everything back, events included.

    Its own bookkeeping (the outbox's rows, the audit trail's, the saga waits) is held on PostgreSQL, in a
    `UnitSession`, until the transaction's next statement, savepoint or commit, and the inserts held are sent as
    one statement: a registration's three cost one round trip, not three. Inside a savepoint each insert is
    sent at once, as on SQLite.
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        outbox: Table,
        producer: str,
        waits: Table | None = None,
        reask_after: timedelta = timedelta(minutes=1),
        audit_entries: Table | None = None,
    ):
        self._session_factory, self._outbox, self._producer = session_factory, outbox, producer
        self._waits, self._reask_after = waits, reask_after  # the service's saga waits (servicekit.sagas)
        self._audit_entries = audit_entries  # the service's audit trail (servicekit.audit)
        self._session: Session | None = None
        self._notified = False
        self._appends: list[tuple[Any, list[dict]]] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        self._notified, self._appends = False, []
        self._session.info[UNIT_OF_WORK] = self
        return self

    def __exit__(self, *exc_info) -> None:
        self._appends = []
        self.session.info.pop(UNIT_OF_WORK, None)
        self.session.rollback()
        self.session.close()
        self._session = None

    def commit(self) -> None:
        self._send_appends()
        self.session.commit()

    def _append(self, statement: Any, rows: list[dict]) -> None:
        """An insert into the unit's bookkeeping: `statement` (one built once: `_insert_into`) with `rows`."""
        self._appends.append((statement, rows))
        session = self.session
        if (
            not isinstance(session, UnitSession)
            or session.in_nested_transaction()  # a rollback to the savepoint takes back only what was sent in it
            or session.get_bind().dialect.name != "postgresql"
        ):
            self._send_appends()

    def _send_appends(self) -> None:
        appends, self._appends = self._appends, []
        # Several rows go as an executemany; one row's inserts are sent together as one statement (CTEs) whose
        # text is the same for the same tables and columns: built once, its parameters bound by name.
        for statement, rows in appends:
            if len(rows) > 1:
                self.session.execute(statement, rows)
        single = [(statement, rows[0]) for statement, rows in appends if len(rows) == 1]
        if single:
            combined = _inserts_together(tuple((statement, tuple(row)) for statement, row in single))
            params = {_param(n, column): value for n, (_, row) in enumerate(single) for column, value in row.items()}
            self.session.execute(combined, params)

    def publish(self, event_type: str, data: dict, *, version: int | None = None) -> Envelope:
        """Add an event to the outbox in this transaction (validated against its contract now)."""
        return self.publish_many(event_type, [data], version=version)[0]

    def publish_many(self, event_type: str, items: list[dict], *, version: int | None = None) -> list[Envelope]:
        """`publish` for each of `items`, in that order, with one outbox statement for them all (a batch's events:
        a round trip each made most of a 1000-line request's time)."""
        headers = current_headers()  # the trace the relay continues when it publishes the rows
        correlation, causation = correlation_id.get() or request_id.get(), causation_id.get() or request_id.get()
        envelopes = [
            Envelope.new(
                event_type,
                data,
                producer=self._producer,
                version=version,
                correlation_id=correlation,
                causation_id=causation,
                headers=headers,
            )
            for data in items
        ]
        self._add_to_outbox(envelopes)
        return envelopes

    def publish_caused(self, events: list[tuple[str, dict, Envelope]]) -> list[Envelope]:
        """Add events to the outbox in one statement, each (type, data, cause) caused by the event named beside
        it (its correlation, its id as causation): what a Batched handler (servicekit.service) answers."""
        envelopes = [
            Envelope.new(
                event_type,
                data,
                producer=self._producer,
                correlation_id=cause.correlation_id,
                causation_id=cause.id,
                headers=current_headers(),
            )
            for event_type, data, cause in events
        ]
        self._add_to_outbox(envelopes)
        return envelopes

    def _add_to_outbox(self, envelopes: list[Envelope]) -> None:
        if not envelopes:
            return
        now = utcnow()
        self._append(
            _insert_into(self._outbox),
            [
                {"event_id": e.id, "type": e.type, "body": e.to_json(), "created_at": now, "attempts": 0}
                for e in envelopes
            ],
        )
        self._wake_relay()

    def audit(self, action: str, entity_type: str, entity_id=None, **decision) -> None:
        """Record a decision in the service's audit trail, in this transaction (servicekit.audit.entry:
        before, after, reason, actor, only_changes)."""
        from .audit import entry

        self.audit_all([entry(action, entity_type, entity_id, **decision)])

    def audit_all(self, entries: list[dict]) -> None:
        """Record decisions (servicekit.audit.entry) in one statement, in this transaction: a batch's."""
        if entries:
            self._append(_insert_into(self._audit_table()), entries)

    def _audit_table(self) -> Table:
        if self._audit_entries is None:
            raise RuntimeError(f"{self._producer} keeps no audit trail: its metadata has no audit_entries table")
        return self._audit_entries

    def _wake_relay(self) -> None:
        """On PostgreSQL, tell the service's relays there is something to publish once this transaction
        has committed, so the relay publishes without a polling delay. The NOTIFY is sent after the commit,
        by the process's `RelayBell`: inside the transaction it would take PostgreSQL's one cluster-wide
        notification lock for the commit's whole WAL flush, and every publishing commit of every service
        would wait in line for it (pgbench, 16 clients on this busy 2-core machine: 240 commits/s against
        2,360 without it; NOTIFY after the commit: 1,600). A wake-up lost to a crash in between is left to
        the relay's poll."""
        if self._notified or self.session.get_bind().dialect.name != "postgresql":
            return
        self.session.info[RING_AFTER_COMMIT] = relay_bell(self.session.get_bind().engine, self._producer)
        self._notified = True

    @property
    def _saga_waits(self) -> Table:
        if self._waits is None:
            raise RuntimeError(f"{self._producer} declares no sagas: its metadata has no saga_waits table")
        return self._waits

    def await_answer(self, saga: str, item_id: str) -> None:
        """The request published in this transaction awaits an answer: asked again if it is late
        (servicekit.sagas). Asking anew restarts the wait."""
        now = utcnow()
        fresh = {"waiting_since": now, "asks": 0, "last_asked_at": None, "next_ask_at": now + self._reask_after}
        self._append(
            _restart_wait(self.session.get_bind().dialect.name, self._saga_waits),
            [{"saga": saga, "item_id": item_id, "stalled_at": None, **fresh}],
        )

    def answered(self, saga: str, item_id: str) -> bool:
        """The answer came (late or not): the wait ends. False when nothing waited for it."""
        return bool(self.answered_all(saga, [item_id]))

    def answered_all(self, saga: str, item_ids: list[str]) -> set[str]:
        """The answers came for these items (a batch's): their waits end, in one statement. The items that
        were waited for."""
        if not item_ids:
            return set()
        waits = self._saga_waits.c
        ended = self.session.execute(
            delete(self._saga_waits)
            .where(waits.saga == saga, waits.item_id.in_(item_ids))
            .returning(waits.item_id, waits.stalled_at)
        ).all()
        for item_id, stalled_at in ended:
            if stalled_at is not None:
                log.info("stalled saga item completed by a late answer", extra={"saga": saga, "item_id": item_id})
        return {item_id for item_id, _ in ended}


class JoinedUnitOfWork(UnitOfWork):
    """A unit of work inside a transaction that another layer commits (an idempotent request's,
    servicekit.idempotency): `commit()` keeps its changes for that transaction (a savepoint is
    released), leaving without `commit()` undoes them (rolled back to the savepoint)."""

    def __init__(
        self,
        session: Session,
        outbox: Table,
        producer: str,
        waits: Table | None = None,
        reask_after: timedelta = timedelta(minutes=1),
        audit_entries: Table | None = None,
    ):
        super().__init__(lambda: session, outbox, producer, waits, reask_after, audit_entries)

    def __enter__(self) -> JoinedUnitOfWork:
        self._session = self._session_factory()
        self._notified, self._appends = False, []
        self._session.info[UNIT_OF_WORK] = self
        self._savepoint = self.session.begin_nested()
        return self

    def __exit__(self, *exc_info) -> None:
        self.session.info.pop(UNIT_OF_WORK, None)
        if self._savepoint.is_active:
            self._savepoint.rollback()
        self._session = None

    def commit(self) -> None:
        self._savepoint.commit()
